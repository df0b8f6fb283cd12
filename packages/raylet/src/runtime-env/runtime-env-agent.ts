// The raylet's runtime-env agent: the plugin registry (built-ins plus the operator's files),
// the node's cache under <session>/runtime_resources/<node id>, and packages fetched from the
// GCS's KV. Runs in the raylet's process (Ray runs it as a separate agent process; here a
// setup is asynchronous I/O and child processes such as npm, which never block the raylet).
import { dirname, join } from 'node:path';
import { createGrpcClient, InternalKVGcsService } from '@tray/protocol';
import { downloadPackage, PluginRegistry, parsePackageUri, RuntimeEnvAgent } from '@tray/runtime-env';
import type { ResolvedOptions } from '../options.js';

export interface HostedAgent {
  registry: PluginRegistry;
  agent: RuntimeEnvAgent;
  close(): void;
}

/** The directory tray is installed in: the nearest ancestor of the worker entry holding node_modules' top. */
function installRoot(workerEntry: string): string {
  const parts = workerEntry.split('/node_modules/');
  if (parts.length > 1) return parts[0]!;
  // A workspace checkout: packages/core/dist/worker/main.js → the repository root.
  const marker = workerEntry.lastIndexOf('/packages/');
  return marker > 0 ? workerEntry.slice(0, marker) : dirname(workerEntry);
}

export async function createRuntimeEnvAgent(o: ResolvedOptions): Promise<HostedAgent> {
  const registry = new PluginRegistry();
  await registry.load(o.runtimeEnvPlugins);
  const client = o.gcsAddress ? createGrpcClient(o.gcsAddress, { token: o.token }) : undefined;
  const kv = {
    kvGet: async (namespace: string, key: string) => {
      const reply = await client!.call(InternalKVGcsService.InternalKVGet, {
        namespace,
        key: Buffer.from(key),
      });
      return reply.found ? reply.value : undefined;
    },
    kvPut: async () => false,
    kvExists: async () => false,
  };
  const agent = new RuntimeEnvAgent({
    registry,
    cacheDir: join(o.sessionDir, 'runtime_resources', o.nodeId.toString('hex').slice(0, 12)),
    sessionDir: o.sessionDir,
    installPaths: [installRoot(o.workerEntry)],
    cacheLimitBytes: o.runtimeEnvCacheBytes,
    fetchPackage: async (uri) => {
      const parsed = parsePackageUri(uri);
      if (parsed === undefined) throw new Error(`${uri} is not a package URI`);
      if (client === undefined) throw new Error(`${uri}: this raylet has no GCS to fetch packages from`);
      return downloadPackage(kv, parsed.hash);
    },
  });
  return { registry, agent, close: () => client?.close() };
}
