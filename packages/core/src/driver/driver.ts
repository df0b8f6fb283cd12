// A driver joining a node: connect to the raylet (framed, with the token) and the node's store,
// serve CoreWorkerService on this process's socket, register as a driver with a job id from the
// GCS, and print what the job's workers write (log_to_driver). Used by init() both after it
// started a head node and when it joins a running cluster.
import path from 'node:path';
import { GcsClient } from '@tray/gcs/client';
import { StoreClient } from '@tray/object-store';
import { type Connection, connect, NodeManagerService } from '@tray/protocol';
import type { TrayState } from '../process/state.js';
import { CoreWorker, type FunctionCodec } from '../runtime/core-worker.js';
import { hex, randomUniqueId } from '../runtime/ids.js';
import { printWorkerLogs } from './log-printer.js';

export interface DriverOptions {
  gcsAddress: string;
  token: string;
  sessionDir: string;
  rayletSocket: string;
  storeSocket: string;
  nodeId: Buffer;
  /** The local node's IP (its raylet's), where workers on other nodes reach this driver. */
  nodeIp?: string;
  namespace: string;
  logToDriver: boolean;
  runtimeEnv?: unknown;
  /** How remote functions, actor classes and handles travel in values (the user API's remoteCodec). */
  functions: (core: () => CoreWorker) => FunctionCodec;
}

export async function connectDriver(
  options: DriverOptions,
): Promise<{ state: TrayState; close: () => Promise<void> }> {
  const gcs = new GcsClient(options.gcsAddress, { token: options.token });
  let raylet: Connection | undefined;
  let store: StoreClient | undefined;
  let core: CoreWorker | undefined;
  try {
    // Independent steps go at once: a job id, the raylet, the node's store.
    const [jobIdBytes, rayletConnection, storeClient] = await Promise.allSettled([
      gcs.getNextJobId(),
      connect(options.rayletSocket, { token: options.token, label: 'raylet' }),
      StoreClient.connect(options.storeSocket),
    ]);
    if (rayletConnection.status === 'fulfilled') raylet = rayletConnection.value;
    if (storeClient.status === 'fulfilled') store = storeClient.value;
    for (const r of [jobIdBytes, rayletConnection, storeClient]) if (r.status === 'rejected') throw r.reason;
    const jobId = Buffer.from((jobIdBytes as PromiseFulfilledResult<Uint8Array>).value);
    const rayletConn = raylet!;
    const workerId = randomUniqueId();
    const socketPath = path.join(options.sessionDir, 'sockets', `w-${hex(workerId).slice(0, 8)}`);
    core = new CoreWorker({
      mode: 'driver',
      jobId,
      workerId,
      nodeId: options.nodeId,
      socketPath,
      host: options.nodeIp,
      token: options.token,
      raylet: rayletConn,
      store,
      workingDir: process.cwd(),
      namespace: options.namespace,
      functions: options.functions(() => core!),
      nodes: () => gcs.getAllNodeInfo(),
      taskEvents: (rows, dropped) => gcs.addTaskEventRows(rows, dropped),
    });
    await core.listen();
    if (options.logToDriver) rayletConn.handleNotify(NodeManagerService.PublishLogs, printWorkerLogs);
    await Promise.all([
      rayletConn.request(NodeManagerService.RegisterWorker, {
        workerId,
        pid: process.pid,
        address: core.address,
        isDriver: true,
        jobId,
      }),
      gcs.addJob({
        jobId,
        driverAddress: core.address,
        driverPid: process.pid,
        namespace: options.namespace,
        startTimeMs: Date.now(),
        entrypoint: process.argv.slice(1).join(' '),
        // Set in a Jobs API entrypoint's environment: links this driver's job to the submission.
        jobSubmissionId: process.env.TRAY_JOB_SUBMISSION_ID ?? '',
      }),
    ]);
  } catch (err) {
    await core?.shutdown().catch(() => {});
    raylet?.close();
    await store?.close().catch(() => {});
    gcs.close();
    throw err;
  }
  const c = core;
  const r = raylet!;
  const state: TrayState = {
    core: c,
    gcsAddress: options.gcsAddress,
    gcs: {
      nodes: () => gcs.getAllNodeInfo(),
      resources: () => gcs.getAllResourceUsage(),
    },
    isCanceled: () => false,
  };
  return {
    state,
    close: async () => {
      // A driver exiting while the GCS is away waits briefly, not the whole reconnect window.
      await gcs.markJobFinished(c.jobId, 5_000).catch(() => {});
      await c.shutdown();
      r.close();
      gcs.close();
    },
  };
}
