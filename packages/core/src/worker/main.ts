// The worker process (docs/processes.md): the raylet spawns `node dist/worker/main.js` with the
// TRAY_* env vars. It serves CoreWorkerService on sockets/w-<hex8>, registers with the raylet
// over a connection it keeps for life (the raylet treats its closing as this worker's death;
// this worker exits when the raylet goes away), and runs the tasks owners push to it, with
// `tray` bound to this process's API inside remote code.
import path from 'node:path';
import { GcsClient } from '@tray/gcs/client';
import { StoreClient } from '@tray/object-store';
import {
  CoreWorkerService,
  connect,
  disableScopedCodeCache,
  IdBytes,
  NodeManagerService,
} from '@tray/protocol';
import { remoteCodec } from '../api/actor/remote-codec.js';
import * as api from '../index.js';
import { setState } from '../process/state.js';
import { CoreWorker } from '../runtime/core-worker.js';
import { collectWhenIdle } from '../runtime/local-gc.js';
import { ActorExecutor } from './actor-executor.js';
import { TaskExecutor } from './task-executor.js';

function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`tray worker: ${name} is not set; workers are started by the raylet\n`);
    process.exit(1);
  }
  return value;
}

async function main(): Promise<void> {
  // An idle worker's memory counts more than a few ms of compiling (@tray/protocol's code cache).
  disableScopedCodeCache();
  const token = env('TRAY_TOKEN');
  const workerId = Buffer.from(env('TRAY_WORKER_ID'), 'hex');
  const nodeId = Buffer.from(env('TRAY_NODE_ID'), 'hex');
  const sessionDir = env('TRAY_SESSION_DIR');
  const [raylet, store] = await Promise.all([
    connect(env('TRAY_RAYLET_SOCKET'), { token, label: 'raylet' }),
    StoreClient.connect(env('TRAY_STORE_SOCKET')),
  ]);
  raylet.on('close', () => process.exit(0));
  const socketPath = path.join(sessionDir, 'sockets', `w-${workerId.toString('hex').slice(0, 8)}`);
  // The GCS client is made on first use (tray.nodes(), tray.clusterResources() inside a task);
  // its module is small (@tray/gcs/client; grpc-js loads with the first client), and the other
  // parts of this bundle import it statically anyway.
  let gcsClient: Promise<GcsClient> | undefined;
  const gcs = () => (gcsClient ??= Promise.resolve(new GcsClient(env('TRAY_GCS_ADDRESS'), { token })));
  let core: CoreWorker | undefined;
  core = new CoreWorker({
    mode: 'worker',
    jobId: Buffer.alloc(IdBytes.job),
    workerId,
    nodeId,
    socketPath,
    token,
    raylet,
    store,
    workingDir: process.cwd(),
    namespace: '',
    functions: remoteCodec(() => core!),
    nodes: async () => (await gcs()).getAllNodeInfo(),
    taskEvents: async (rows, dropped) => (await gcs()).addTaskEventRows(rows, dropped),
  });
  const executor = new TaskExecutor(core, api);
  const actors = new ActorExecutor(core, executor);
  core.executorHandlers = (c) => {
    executor.serve(c);
    actors.serve(c);
  };
  const stopCollecting = collectWhenIdle(
    () => executor.idle && actors.idle,
    // Refs, or views of store objects (each pins its object until collected).
    () => core!.refs.size > 0 || store.heldObjects > 0,
    () => executor.tasksRun,
  );
  core.onShutdown(stopCollecting);
  // The raylet asks before it stops an idle worker (beyond its soft limit): a worker that owns
  // objects still referenced somewhere says no, as Ray's does, or those objects would be lost
  // to their borrowers and never leave the store. So does one with tasks or actor calls it
  // submitted still pending (Ray's NumPendingTasks): a call whose ref the task dropped, still
  // waiting for an argument or for its actor, would otherwise never be sent.
  raylet.handle(CoreWorkerService.Exit, (req) => {
    const canExit =
      req.forceExit ||
      (executor.idle && actors.idle && core!.tasks.numPending === 0 && !core!.refs.ownsObjects());
    return { success: canExit };
  });
  setState({
    core,
    gcsAddress: process.env.TRAY_GCS_ADDRESS,
    gcs: {
      nodes: async () => (await gcs()).getAllNodeInfo(),
      resources: async () => (await gcs()).getAllResourceUsage(),
    },
    isCanceled: () => executor.currentCancelled,
    loadFunction: (descriptor) => executor.load(descriptor),
  });
  await core.listen();
  const reply = await raylet.request(NodeManagerService.RegisterWorker, {
    workerId,
    pid: process.pid,
    address: core.address,
    isDriver: false,
    startupToken: process.env.TRAY_STARTUP_TOKEN ?? '',
  });
  if (reply.jobId && reply.jobId.length > 0) core.jobId = Buffer.from(reply.jobId);
}

main().catch((err) => {
  process.stderr.write(`tray worker failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
