// @tray/raylet/testing: what embedders' tests and tray's cross-package tests need to run a raylet
// in their own process without @tray/core (as Ray ships `ray.cluster_utils`): a raylet started
// on a fresh session directory, with a stand-in worker (STUB_WORKER, testing/stub-worker.mjs)
// instead of core's, optionally registered with a GCS (`gcsAddress`); a driver connection; and
// worker leases requested, returned and given tasks through NodeManagerService and
// CoreWorkerService, as core's driver would.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Connection, CoreWorkerService, connect, NodeManagerService, tray } from '@tray/protocol';
import type { RayletOptions } from './options.js';
import { type Raylet, startRaylet } from './raylet.js';

/**
 * The stand-in worker script: it registers with its raylet and serves PushTask. A task's name
 * says what it does: "print:<text>" (stdout), "stderr:<text>", "exit:<code>", "hang" (never
 * answers); anything else replies `{ pid, foo: $FOO, visibleDevices }` as JSON. With
 * FIXTURE_EXIT_AT_START in its env it exits at once (FIXTURE_SIGKILL_AT_START: SIGKILLs itself).
 */
export const STUB_WORKER = fileURLToPath(new URL('../testing/stub-worker.mjs', import.meta.url));
/** The cluster token every helper here uses unless given another: random, one per process. */
export const TEST_TOKEN = randomBytes(32).toString('hex');
/** The job the driver and the leases of these helpers belong to. */
export const TEST_JOB_ID = Buffer.from([1, 0, 0, 0]);

/** A fresh session directory under the OS temp dir (startNode's node removes its own). */
export function makeSessionDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'tray-rl-'));
}

export interface TestNode {
  raylet: Raylet;
  sessionDir: string;
  /** A driver registered for TEST_JOB_ID on the raylet's framed socket. */
  driver: Connection;
  driverId: Buffer;
  /** Close the driver, stop the raylet (and its workers), remove the session directory. */
  stop(): Promise<void>;
}

/**
 * Start a raylet in this process: TEST_TOKEN, a fresh session directory, STUB_WORKER, 2 CPUs and
 * a 16 MiB object store unless `options` says otherwise (pass `gcsAddress` to join a cluster).
 */
export async function startNode(options: Partial<RayletOptions> = {}): Promise<TestNode> {
  const sessionDir = options.sessionDir ?? makeSessionDir();
  const token = options.token ?? TEST_TOKEN;
  let raylet: Raylet;
  try {
    raylet = await startRaylet({
      token,
      sessionDir,
      workerEntry: STUB_WORKER,
      numCpus: 2,
      objectStoreMemory: 16 * 1024 * 1024,
      ...options,
    });
  } catch (err) {
    if (options.sessionDir === undefined) rmSync(sessionDir, { recursive: true, force: true });
    throw err;
  }
  let driver: Awaited<ReturnType<typeof connectDriver>>;
  try {
    driver = await connectDriver(raylet, TEST_JOB_ID, token);
  } catch (err) {
    await raylet.stop();
    if (options.sessionDir === undefined) rmSync(sessionDir, { recursive: true, force: true });
    throw err;
  }
  return {
    raylet,
    sessionDir,
    driver: driver.connection,
    driverId: driver.workerId,
    async stop() {
      driver.connection.close();
      await raylet.stop();
      rmSync(sessionDir, { recursive: true, force: true });
    },
  };
}

/** Connect to `raylet`'s framed socket and register as the driver of `jobId`. */
export async function connectDriver(raylet: Raylet, jobId = TEST_JOB_ID, token = TEST_TOKEN) {
  const connection = await connect(raylet.socketPath, { token });
  const workerId = randomBytes(28);
  try {
    await connection.request(NodeManagerService.RegisterWorker, {
      workerId,
      pid: process.pid,
      isDriver: true,
      jobId,
      address: { socketPath: '' },
    });
  } catch (err) {
    connection.close();
    throw err;
  }
  return { connection, workerId };
}

export interface LeaseOptions {
  resources?: Record<string, number>;
  /** The task's name (what the node's metrics show as Name). */
  name?: string;
  ownerId?: Buffer;
  actor?: { placement?: Record<string, number> };
  envVars?: Record<string, string>;
  /** A whole runtime env as its canonical JSON (RuntimeEnv.serialized). */
  runtimeEnv?: string;
  leaseId?: Buffer;
  /** Schedule into this bundle of a placement group (index -1: any bundle). */
  bundle?: { placementGroupId: Buffer; index: number };
}

/** Request a worker lease for a task of TEST_JOB_ID (1 CPU unless `resources` says otherwise). */
export function requestLease(
  conn: Connection,
  options: LeaseOptions = {},
): Promise<tray.v1.WorkerLeaseReply> {
  return conn.request(NodeManagerService.RequestWorkerLease, {
    leaseId: options.leaseId,
    task: {
      taskId: randomBytes(24),
      jobId: TEST_JOB_ID,
      name: options.name,
      type: options.actor ? tray.v1.TaskType.ACTOR_CREATION_TASK : tray.v1.TaskType.NORMAL_TASK,
      requiredResources: { quantities: options.resources ?? { CPU: 1 } },
      runtimeEnv:
        options.envVars || options.runtimeEnv
          ? { envVars: options.envVars, serialized: options.runtimeEnv }
          : undefined,
      schedulingStrategy: options.bundle
        ? {
            placementGroup: {
              placementGroupId: options.bundle.placementGroupId,
              bundleIndex: options.bundle.index,
            },
          }
        : undefined,
      actorCreation: options.actor
        ? {
            actorId: randomBytes(16),
            placementResources: options.actor.placement ? { quantities: options.actor.placement } : undefined,
          }
        : undefined,
    },
    ownerAddress: { workerId: options.ownerId ?? randomBytes(28) },
  });
}

function grantedWorker(reply: tray.v1.WorkerLeaseReply, what: string): tray.v1.IAddress {
  if (!reply.workerAddress?.workerId?.length) {
    const why = reply.failureMessage || (reply.retryAtRayletAddress ? 'spilled back to another node' : '');
    throw new Error(
      `${what}: this lease reply grants no worker (rejected: ${reply.rejected ?? false}, canceled: ` +
        `${reply.canceled ?? false}, infeasible: ${reply.infeasible ?? false}${why ? `, ${why}` : ''}); ` +
        'pass the reply of a granted lease',
    );
  }
  return reply.workerAddress;
}

/** Return a granted lease (with `disconnectWorker`, the raylet kills its worker). */
export async function returnLease(
  conn: Connection,
  reply: tray.v1.WorkerLeaseReply,
  disconnectWorker = false,
) {
  const worker = grantedWorker(reply, 'returnLease');
  return conn.request(NodeManagerService.ReturnWorkerLease, {
    leaseId: reply.leaseId,
    workerId: worker.workerId,
    disconnectWorker,
  });
}

/** Push a task named `name` to a leased stub worker; resolves with its JSON reply. */
export async function pushTask(
  reply: tray.v1.WorkerLeaseReply,
  name: string,
  token = TEST_TOKEN,
): Promise<any> {
  const address = grantedWorker(reply, 'pushTask');
  if (!address.socketPath)
    throw new Error('pushTask: the leased worker has no socket path (a worker on another node?)');
  const worker = await connect(address.socketPath, { token });
  try {
    const res = await worker.request(CoreWorkerService.PushTask, {
      task: { taskId: randomBytes(24), jobId: TEST_JOB_ID, name },
      intendedWorkerId: address.workerId,
    });
    const data = res.returnObjects?.[0]?.data;
    if (!data) throw new Error(`pushTask: the worker's reply to task "${name}" has no return object`);
    return JSON.parse(Buffer.from(data).toString('utf8'));
  } finally {
    worker.close();
  }
}

/** The raylet's GetNodeStats over `conn`. */
export function nodeStats(conn: Connection) {
  return conn.request(NodeManagerService.GetNodeStats, {});
}
