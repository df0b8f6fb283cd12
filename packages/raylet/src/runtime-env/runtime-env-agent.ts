// The node's runtime-env agent as the agent process builds it (agent-main.ts): the plugin
// registry (built-ins plus the operator's files), the node's cache under
// <session>/runtime_resources/<node id>, and packages fetched from the GCS's KV.
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createGrpcClient, InternalKVGcsService } from '@tray/protocol';
import { downloadPackage, PluginRegistry, parsePackageUri, RuntimeEnvAgent } from '@tray/runtime-env';

/** What the raylet gives its agent process (TRAY_AGENT_OPTIONS, JSON). */
export interface AgentProcessOptions {
  sessionDir: string;
  /** Hex node id. */
  nodeId: string;
  gcsAddress: string | undefined;
  token: string;
  runtimeEnvPlugins: string[];
  runtimeEnvCacheBytes: number;
  /** The worker entry (tray's installation is found from it, for sandboxes). */
  workerEntry: string;
}

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

/** The node's cache directory (one per node of a session). */
export function cacheDirOf(sessionDir: string, nodeIdHex: string): string {
  return join(sessionDir, 'runtime_resources', nodeIdHex.slice(0, 12));
}

/**
 * Remove what a killed agent left half-made: `<uri dir>.tmp-*` directories of its setups. The
 * complete entries stay (a restarted agent finds them: plugins reuse what they completed).
 */
function removePartials(cacheDir: string): void {
  let plugins: string[];
  try {
    plugins = readdirSync(cacheDir);
  } catch {
    return;
  }
  for (const plugin of plugins) {
    let names: string[];
    try {
      names = readdirSync(join(cacheDir, plugin));
    } catch {
      continue;
    }
    for (const name of names)
      if (name.includes('.tmp-')) rmSync(join(cacheDir, plugin, name), { recursive: true, force: true });
  }
}

export async function createRuntimeEnvAgent(o: AgentProcessOptions): Promise<HostedAgent> {
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
  const cacheDir = cacheDirOf(o.sessionDir, o.nodeId);
  removePartials(cacheDir);
  const agent = new RuntimeEnvAgent({
    registry,
    cacheDir,
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

/** Where the agent records its setup commands' process groups (killed if the agent dies). */
export function setupGroupsDirOf(sessionDir: string, nodeIdHex: string): string {
  return join(sessionDir, 'runtime_env_agent', nodeIdHex.slice(0, 12), 'setup-groups');
}
