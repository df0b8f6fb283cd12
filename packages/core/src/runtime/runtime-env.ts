// The driver's (and a worker's) side of runtime envs: the user's `runtimeEnv` option checked
// by the plugins of @tray/runtime-env, merged over the job's env (Ray's rules), prepared —
// local directories and tarballs packed and uploaded to the GCS once, under their content
// hash — and turned into the RuntimeEnv of a task spec. Uploads run in the background; a task
// whose env has uploads under way is submitted when they are done (task-launcher.ts).
import { GcsClient } from '@tray/gcs/client';
import { createGrpcClient, RuntimeEnvService, type TrayGrpcClient, type tray } from '@tray/protocol';
import {
  configOf,
  mergeRuntimeEnvs,
  PluginRegistry,
  packageUri,
  prepareRuntimeEnv,
  type RuntimeEnvValue,
  serializeRuntimeEnv,
  uploadPackage,
  validateRuntimeEnv,
} from '@tray/runtime-env';
import { RuntimeEnvSetupError } from '../errors.js';

/** The plugins this process knows (init's runtimeEnvPlugins add to them). */
export const runtimeEnvPlugins = new PluginRegistry();

/** Largest directory a package may hold (Ray: 100 MiB; env TRAY_RUNTIME_ENV_MAX_PACKAGE_BYTES). */
function maxPackageBytes(): number | undefined {
  const raw = process.env.TRAY_RUNTIME_ENV_MAX_PACKAGE_BYTES;
  const n = raw ? Number(raw) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

interface Uploads {
  gcs: GcsClient | undefined;
  /** URI → its upload (settled ones stay: a failed URI keeps failing its tasks). */
  byUri: Map<string, Promise<void>>;
  inFlight: number;
}

/** What uploading a process's packages needs of it (the core worker gives itself). */
export interface RuntimeEnvContext {
  readonly token: string;
  readonly jobId: Buffer;
  onShutdown(hook: () => void): void;
}

const uploadsOf = new WeakMap<object, Uploads>();

function uploads(core: RuntimeEnvContext): Uploads {
  let u = uploadsOf.get(core);
  if (u === undefined) {
    u = { gcs: undefined, byUri: new Map(), inFlight: 0 };
    uploadsOf.set(core, u);
    const entry = u;
    core.onShutdown(() => entry.gcs?.close());
  }
  return u;
}

const gcsAddressOf = new WeakMap<RuntimeEnvContext, string>();

/** Where `core`'s packages go (a driver's GCS; a worker uses TRAY_GCS_ADDRESS). */
export function setPackageGcs(core: RuntimeEnvContext, address: string): void {
  gcsAddressOf.set(core, address);
}

function gcsOf(core: RuntimeEnvContext, u: Uploads, gcsAddress: string | undefined): GcsClient {
  if (u.gcs === undefined) {
    const address = gcsAddress ?? gcsAddressOf.get(core) ?? process.env.TRAY_GCS_ADDRESS;
    if (!address)
      throw new Error('runtime env packages need the GCS address; this process was not started by tray');
    u.gcs = new GcsClient(address, { token: core.token });
  }
  return u.gcs;
}

/** Parse the serialized env of a spec (the job's, or the parent task's). */
function envValueOf(env: tray.v1.IRuntimeEnv | undefined | null): RuntimeEnvValue | undefined {
  const s = env?.serialized;
  return s ? (JSON.parse(s) as RuntimeEnvValue) : undefined;
}

export function toSpecEnv(value: RuntimeEnvValue | undefined): tray.v1.IRuntimeEnv | undefined {
  const serialized = serializeRuntimeEnv(value);
  if (serialized === '' || value === undefined) return undefined;
  const npm = value.npm as { packages?: string[] } | undefined;
  return {
    envVars: (value.envVars as Record<string, string> | undefined) ?? {},
    workingDir: typeof value.workingDir === 'string' ? value.workingDir : '',
    npm: npm?.packages ?? [],
    serialized,
  };
}

/**
 * `own` (a task's or actor's runtimeEnv option) checked, prepared (uploads started) and merged
 * over `base` (the job's or parent's env). Throws RuntimeEnvSetupError for what cannot be
 * prepared (a missing directory, one over the size limit) and TypeError for a bad option.
 */
export function specRuntimeEnv(
  core: RuntimeEnvContext,
  base: tray.v1.IRuntimeEnv | undefined,
  own: unknown,
  options: { gcsAddress?: string; baseDir?: string } = {},
): tray.v1.IRuntimeEnv | undefined {
  if (own === undefined) return base;
  const checked = validateRuntimeEnv(own, runtimeEnvPlugins);
  const u = uploads(core);
  let prepared: RuntimeEnvValue;
  try {
    prepared = prepareRuntimeEnv(checked, runtimeEnvPlugins, {
      baseDir: options.baseDir ?? process.cwd(),
      maxPackageBytes: maxPackageBytes(),
      upload: (hash, bytes) => {
        const uri = packageUri(hash);
        if (!u.byUri.has(uri)) {
          const gcs = gcsOf(core, u, options.gcsAddress);
          u.inFlight++;
          const p = uploadPackage(gcs, hash, bytes)
            .then(() => {})
            .finally(() => u.inFlight--);
          p.catch(() => {});
          u.byUri.set(uri, p);
        }
        return uri;
      },
    });
  } catch (err) {
    if (err instanceof TypeError) throw err;
    throw new RuntimeEnvSetupError((err as Error).message);
  }
  return toSpecEnv(mergeRuntimeEnvs(envValueOf(base), prepared));
}

/**
 * Ray's eager_install (config.eagerInstall, default true): ask every alive node to set the
 * job's env up now, in the background (a failure shows when a task needs the env).
 */
export function installEagerly(
  core: RuntimeEnvContext,
  env: tray.v1.IRuntimeEnv | undefined,
  gcsAddress: string,
): void {
  const serialized = env?.serialized;
  if (!serialized) return;
  const value = JSON.parse(serialized) as RuntimeEnvValue;
  const config = configOf(value);
  if (!config.eagerInstall) return;
  const u = uploads(core);
  const gcs = gcsOf(core, u, gcsAddress);
  const clients: TrayGrpcClient[] = [];
  core.onShutdown(() => {
    for (const c of clients.splice(0)) c.close();
  });
  void gcs
    .getAllNodeInfo()
    .then((nodes) =>
      Promise.allSettled(
        nodes
          .filter((n) => n.state === 0)
          .map((n) => {
            const client = createGrpcClient(`${n.nodeIp}:${n.rayletPort}`, {
              token: core.token,
              retries: 0,
              deadlineMs: config.setupTimeoutMs,
            });
            clients.push(client);
            return client
              .call(RuntimeEnvService.GetOrCreateRuntimeEnv, {
                serializedRuntimeEnv: serialized,
                jobId: core.jobId,
              })
              .finally(() => {
                const i = clients.indexOf(client);
                if (i >= 0) clients.splice(i, 1);
                client.close();
              });
          }),
      ),
    )
    .catch(() => {});
}

const URI = /tray-pkg:\/\/[0-9a-f]{40}/g;

/**
 * Resolves when the packages `env` names are in the GCS (undefined: nothing to wait for);
 * rejects with RuntimeEnvSetupError when an upload failed.
 */
export function uploadsDone(
  core: object,
  env: tray.v1.IRuntimeEnv | null | undefined,
): Promise<void> | undefined {
  const u = uploadsOf.get(core);
  if (u === undefined || env?.serialized == null || !env.serialized.includes('tray-pkg://')) return undefined;
  const waits: Promise<void>[] = [];
  for (const uri of env.serialized.match(URI) ?? []) {
    const p = u.byUri.get(uri);
    if (p !== undefined) waits.push(p);
  }
  if (waits.length === 0) return undefined;
  return Promise.all(waits).then(
    () => {},
    (err: Error) => {
      throw new RuntimeEnvSetupError(
        `uploading the runtime env's packages to the GCS failed: ${err.message}`,
      );
    },
  );
}
