// The cluster functions of API.md: init (start a local head node, or join one at an address),
// isInitialized, shutdown (stops what init started; idempotent), clusterResources,
// availableResources, nodes and getRuntimeContext. InitOptions and their check are in init-options.ts.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GcsClient } from '@tray/gcs/client';
import { processTls } from '@tray/protocol';
import {
  createSession,
  currentClusterFile,
  readSessionToken,
  removeStaleFiles,
  sessionDirFor,
  sessionGcsAddress,
} from '@tray/raylet/session';
import { currentActor } from '../actor/actor-context.js';
import { connectDriver } from '../driver/driver.js';
import { type HeadNode, startHeadNode } from '../driver/head-node.js';
import { currentState, requireCore, setState } from '../process/state.js';
import type { CoreWorker } from '../runtime/core-worker.js';
import { hex } from '../runtime/ids.js';
import { oomRetryPolicy } from '../runtime/oom-retries.js';
import {
  installEagerly,
  runtimeEnvPlugins,
  setPackageGcs,
  specRuntimeEnv,
  uploadsDone,
} from '../runtime/runtime-env.js';
import { remoteCodec } from './actor/remote-codec.js';
import { checkInitOptions, type InitOptions } from './init-options.js';
import type { RuntimeEnvOptions } from './task-options.js';

export interface NodeInfo {
  nodeId: string;
  address: string;
  alive: boolean;
  resources: Record<string, number>;
  isHead: boolean;
}

export interface RuntimeContext {
  jobId: string;
  nodeId: string;
  workerId: string;
  taskId?: string;
  actorId?: string;
  namespace: string;
  wasCurrentActorRestarted: boolean;
  isCanceled(): boolean;
}

let starting: Promise<void> | undefined;
/** The local cluster's dashboard URL (tray.init() without an address). */
let localDashboardUrl: Promise<string | undefined> = Promise.resolve(undefined);

/**
 * The URL of the dashboard tray.init() started with its local cluster, once it serves;
 * undefined when there is none (includeDashboard: false, @tray/dashboard not installed, it
 * failed to start, or this driver joined a cluster at an address).
 */
export function dashboardUrl(): Promise<string | undefined> {
  return localDashboardUrl;
}

/** How long tray.init({ address }) waits for an unreachable GCS before failing. */
const FIRST_CONTACT_MS = 5_000;

/** Start a local cluster (or join one) and connect this process to it as a driver. */
export async function init(options?: InitOptions): Promise<void> {
  const o = checkInitOptions(options);
  if (starting) await starting.catch(() => {});
  if (currentState() !== undefined) {
    throw new Error('tray.init: tray is already initialized in this process; call tray.shutdown() first');
  }
  starting = doInit(o);
  // The driver's sockets do not keep it alive (see CoreWorker.keepAlive); starting does.
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    await starting;
  } finally {
    clearInterval(keepAlive);
    starting = undefined;
  }
}

async function doInit(o: InitOptions): Promise<void> {
  const address = o.address ?? process.env.TRAY_ADDRESS;
  const namespace = o.namespace ?? `anonymous_${process.pid}`;
  const logToDriver = o.logToDriver ?? true;
  oomRetryPolicy(); // a bad TRAY_TASK_OOM_RETRIES* is refused before anything starts
  const pluginFiles = (o.runtimeEnvPlugins ?? []).map((f) => path.resolve(f));
  await loadRuntimeEnvPlugins(pluginFiles);
  if (address === undefined) {
    // What killed nodes and drivers on this machine left (segments, sessions) goes first.
    await removeStaleFiles();
    const session = createSession();
    let head: HeadNode | undefined;
    try {
      head = await startHeadNode({
        sessionDir: session.dir,
        token: session.token,
        numCpus: o.numCpus ?? os.availableParallelism(),
        numGpus: o.numGpus ?? 0,
        resources: o.resources ?? {},
        memory: o.memory,
        objectStoreMemory: o.objectStoreMemory,
        memoryUsageThreshold: o.memoryUsageThreshold,
        memoryMonitorRefreshMs: o.memoryMonitorRefreshMs,
        logToDriver,
        runtimeEnvPlugins: pluginFiles,
        dashboard:
          o.includeDashboard === false
            ? undefined
            : { host: o.dashboardHost ?? '127.0.0.1', port: o.dashboardPort ?? 8265 },
      });
      localDashboardUrl = head.dashboardUrl;
      const driver = await connectDriver({
        gcsAddress: head.gcsAddress,
        token: session.token,
        sessionDir: session.dir,
        rayletSocket: head.raylet.socketPath,
        storeSocket: head.raylet.storeSocketPath,
        nodeId: Buffer.from(head.raylet.nodeId, 'hex'),
        namespace,
        logToDriver,
        functions: remoteCodec,
      });
      const h = head;
      try {
        driver.state.core.defaultRuntimeEnv = await jobRuntimeEnv(
          driver.state.core,
          o.runtimeEnv,
          head.gcsAddress,
        );
      } catch (err) {
        await driver.close();
        throw err;
      }
      driver.state.stop = async () => {
        localDashboardUrl = Promise.resolve(undefined);
        await driver.close();
        await h.stop();
        if (!process.env.TRAY_KEEP_SESSION) rmSync(session.dir, { recursive: true, force: true });
      };
      setState(driver.state);
    } catch (err) {
      await head?.stop();
      rmSync(session.dir, { recursive: true, force: true });
      throw err;
    }
    return;
  }
  const token = o.token ?? process.env.TRAY_TOKEN ?? tokenFromSession(address);
  if (token === undefined) {
    throw new Error(
      `tray.init: joining ${address} needs the cluster token: pass { token }, set TRAY_TOKEN, ` +
        'or run on a node of that cluster (its session directory holds the token; no other ' +
        "cluster's token is sent to this address)",
    );
  }
  // The first contact waits briefly (Ray's gcs_rpc_server_connect_timeout_s, 5 s): a wrong
  // address fails soon; later calls get the whole reconnect window.
  const gcs = new GcsClient(address, { token, reconnectTimeoutMs: FIRST_CONTACT_MS });
  let nodes: Awaited<ReturnType<GcsClient['getAllNodeInfo']>>;
  try {
    nodes = await gcs.getAllNodeInfo();
  } catch (err) {
    const plain = processTls() === undefined;
    const hint = plain
      ? ' (if the cluster was started with TLS, set TRAY_USE_TLS=1, TRAY_TLS_SERVER_CERT, ' +
        'TRAY_TLS_SERVER_KEY and TRAY_TLS_CA_CERT here too)'
      : '';
    throw new Error(`tray.init: cannot reach the GCS at ${address}: ${(err as Error).message}${hint}`);
  } finally {
    gcs.close();
  }
  const local = nodes.find((n) => n.state === 0 && n.rayletSocket && existsSync(n.rayletSocket));
  if (local === undefined) {
    throw new Error(
      `tray.init: the cluster at ${address} has no live node on this machine to attach the driver to`,
    );
  }
  const driver = await connectDriver({
    gcsAddress: address,
    token,
    sessionDir: path.dirname(path.dirname(local.rayletSocket)),
    rayletSocket: local.rayletSocket,
    storeSocket: local.storeSocket,
    nodeId: Buffer.from(local.nodeId),
    nodeIp: local.nodeIp || undefined,
    namespace,
    logToDriver,
    functions: remoteCodec,
  });
  try {
    driver.state.core.defaultRuntimeEnv = await jobRuntimeEnv(driver.state.core, o.runtimeEnv, address);
  } catch (err) {
    await driver.close();
    throw err;
  }
  driver.state.stop = driver.close;
  setState(driver.state);
}

/**
 * The job's runtime env (init's runtimeEnv): every task and actor of the job starts from it.
 * Its packages are in the GCS when init returns.
 */
async function jobRuntimeEnv(core: CoreWorker, given: RuntimeEnvOptions | undefined, gcsAddress: string) {
  setPackageGcs(core, gcsAddress);
  const env = withSubmittedJobEnv(given);
  if (env === undefined) return undefined;
  const spec = specRuntimeEnv(core, undefined, env, { gcsAddress });
  await uploadsDone(core, spec);
  installEagerly(core, spec, gcsAddress);
  return spec;
}

/**
 * A job entrypoint's driver (TRAY_JOB_RUNTIME_ENV, set by the job's supervisor) takes the job's
 * runtime env as its own, as Ray's job-level runtime env: the fields tray.init() gives win, and
 * env vars are merged.
 */
function withSubmittedJobEnv(given: RuntimeEnvOptions | undefined): RuntimeEnvOptions | undefined {
  const raw = process.env.TRAY_JOB_RUNTIME_ENV;
  if (!raw) return given;
  let job: RuntimeEnvOptions;
  try {
    job = JSON.parse(raw);
  } catch (err) {
    throw new Error(
      `TRAY_JOB_RUNTIME_ENV is not JSON (it is the job's runtime env): ${(err as Error).message}`,
    );
  }
  if (job === null || typeof job !== 'object' || Array.isArray(job))
    throw new Error('TRAY_JOB_RUNTIME_ENV must be a JSON object (the job runtime env)');
  if (given === undefined) return job;
  return { ...job, ...given, envVars: { ...job.envVars, ...given.envVars } };
}

const loadedPluginFiles = new Set<string>();

/** Load plugin files once per process (a second init with the same files is fine). */
async function loadRuntimeEnvPlugins(files: string[]): Promise<void> {
  const fresh = files.filter((f) => !loadedPluginFiles.has(f));
  await runtimeEnvPlugins.load(fresh);
  for (const f of fresh) loadedPluginFiles.add(f);
}

/**
 * The token of a cluster whose node runs on this machine, only ever for that cluster's own GCS
 * address (a token is never sent to another address): the session named by TRAY_SESSION_DIR,
 * the cluster `tray start` recorded, or the newest session whose raylet registered with
 * `address`.
 */
function tokenFromSession(address: string): string | undefined {
  const envDir = process.env.TRAY_SESSION_DIR;
  if (envDir && sessionGcsAddress(envDir) === address) return readSessionToken(envDir);
  try {
    const record = JSON.parse(readFileSync(currentClusterFile(), 'utf8'));
    if (record?.gcsAddress === address && typeof record.tokenFile === 'string') {
      return readFileSync(record.tokenFile, 'utf8').trim();
    }
  } catch {}
  const dir = sessionDirFor(address);
  return dir ? readSessionToken(dir) : undefined;
}

export function isInitialized(): boolean {
  const state = currentState();
  return state !== undefined && !state.core.isShutDown;
}

/** Stop what init started (the local cluster, or this driver's connection). Idempotent. */
export async function shutdown(): Promise<void> {
  if (starting) await starting.catch(() => {});
  const state = currentState();
  if (state === undefined || state.stop === undefined) return;
  setState(undefined);
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    await state.stop();
  } finally {
    clearInterval(keepAlive);
  }
}

function sumResources(list: { quantities?: Record<string, number> | null }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of list) for (const [k, v] of Object.entries(r.quantities ?? {})) out[k] = (out[k] ?? 0) + v;
  return out;
}

export async function clusterResources(): Promise<Record<string, number>> {
  const core = requireCore('tray.clusterResources');
  const usage = await core.keepAlive(currentState()!.gcs.resources());
  return sumResources(usage.map((n) => n.total ?? {}));
}

export async function availableResources(): Promise<Record<string, number>> {
  const core = requireCore('tray.availableResources');
  const usage = await core.keepAlive(currentState()!.gcs.resources());
  return sumResources(usage.map((n) => n.available ?? {}));
}

export async function nodes(): Promise<NodeInfo[]> {
  const core = requireCore('tray.nodes');
  const list = await core.keepAlive(currentState()!.gcs.nodes());
  return list.map((n) => ({
    nodeId: hex(n.nodeId),
    address: `${n.nodeIp}:${n.rayletPort}`,
    alive: n.state === 0,
    resources: { ...(n.totalResources?.quantities ?? {}) },
    isHead: n.isHead,
  }));
}

export function getRuntimeContext(): RuntimeContext {
  const core = requireCore('tray.getRuntimeContext');
  const state = currentState()!;
  return {
    jobId: hex(core.jobId),
    nodeId: hex(core.nodeId),
    workerId: core.workerIdHex,
    taskId: core.mode === 'worker' ? hex(core.currentTaskId) : undefined,
    actorId: currentActor()?.actorIdHex,
    namespace: core.namespace,
    wasCurrentActorRestarted: currentActor()?.wasRestarted ?? false,
    isCanceled: () => state.isCanceled(),
  };
}
