// Shared by the raylet's tests (and test/multinode's): a session directory, a raylet started in
// this process with the fixture worker, a driver connection, lease requests and returns, and
// tasks pushed to leased workers. What is not the raylet's (waiting on conditions, pids) comes
// from @tray/test-support.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Connection, CoreWorkerService, connect, NodeManagerService, tray } from '@tray/protocol';
import { type Raylet, type RayletOptions, startRaylet } from '../src/index.js';

export const FIXTURE_WORKER = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url));
export const TOKEN = randomBytes(32).toString('hex');
export const JOB_ID = Buffer.from([1, 0, 0, 0]);

export function makeSessionDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'tray-rl-'));
}

export interface TestNode {
  raylet: Raylet;
  sessionDir: string;
  driver: Connection;
  driverId: Buffer;
  stop(): Promise<void>;
}

export async function startNode(options: Partial<RayletOptions> = {}): Promise<TestNode> {
  const sessionDir = makeSessionDir();
  const raylet = await startRaylet({
    token: TOKEN,
    sessionDir,
    workerEntry: FIXTURE_WORKER,
    numCpus: 2,
    objectStoreMemory: 16 * 1024 * 1024,
    ...options,
  });
  const { connection: driver, workerId: driverId } = await connectDriver(raylet);
  return {
    raylet,
    sessionDir,
    driver,
    driverId,
    async stop() {
      driver.close();
      await raylet.stop();
      rmSync(sessionDir, { recursive: true, force: true });
    },
  };
}

export async function connectDriver(raylet: Raylet, jobId = JOB_ID) {
  const connection = await connect(raylet.socketPath, { token: TOKEN });
  const workerId = randomBytes(28);
  await connection.request(NodeManagerService.RegisterWorker, {
    workerId,
    pid: process.pid,
    isDriver: true,
    jobId,
    address: { socketPath: '' },
  });
  return { connection, workerId };
}

export interface LeaseOptions {
  resources?: Record<string, number>;
  ownerId?: Buffer;
  actor?: { placement?: Record<string, number> };
  envVars?: Record<string, string>;
  /** A whole runtime env as its canonical JSON (RuntimeEnv.serialized). */
  runtimeEnv?: string;
  leaseId?: Buffer;
  /** Schedule into this bundle of a placement group (index -1: any bundle). */
  bundle?: { placementGroupId: Buffer; index: number };
}

export function requestLease(
  conn: Connection,
  options: LeaseOptions = {},
): Promise<tray.v1.WorkerLeaseReply> {
  return conn.request(NodeManagerService.RequestWorkerLease, {
    leaseId: options.leaseId,
    task: {
      taskId: randomBytes(24),
      jobId: JOB_ID,
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

export function returnLease(conn: Connection, reply: tray.v1.WorkerLeaseReply, disconnectWorker = false) {
  return conn.request(NodeManagerService.ReturnWorkerLease, {
    leaseId: reply.leaseId,
    workerId: reply.workerAddress!.workerId,
    disconnectWorker,
  });
}

/** Push a task named `name` to a leased worker; resolves with the fixture's JSON reply. */
export async function pushTask(reply: tray.v1.WorkerLeaseReply, name: string): Promise<any> {
  const worker = await connect(reply.workerAddress!.socketPath!, { token: TOKEN });
  try {
    const res = await worker.request(CoreWorkerService.PushTask, {
      task: { taskId: randomBytes(24), jobId: JOB_ID, name },
      intendedWorkerId: reply.workerAddress!.workerId,
    });
    return JSON.parse(Buffer.from(res.returnObjects![0]!.data!).toString('utf8'));
  } finally {
    worker.close();
  }
}

export function stats(conn: Connection) {
  return conn.request(NodeManagerService.GetNodeStats, {});
}
