// startRaylet: one node's daemon in the calling process. Wires the object store, the worker
// pool, the lease manager, the log forwarder, the NodeManagerService servers (framed socket
// for this node, gRPC for the cluster), the memory monitor and the GCS registration, and takes them down in the
// reverse order on stop — killing every worker it started, so nothing outlives it.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  createGrpcServer,
  ErrorType,
  type FramedServer,
  listen,
  NodeManagerService,
  ObjectManagerService,
  RuntimeEnvService,
  serveMetrics,
  type TrayGrpcServer,
} from '@tray/protocol';
import { PluginRegistry } from '@tray/runtime-env';
import { NodeResources } from '@tray/scheduler';
import { BundleReservations } from './bundles/bundle-reservations.js';
import { GcsRegistration } from './gcs-registration.js';
import { ClusterView } from './leases/cluster-view.js';
import { LeaseManager } from './leases/lease-manager.js';
import { MemoryMonitor } from './memory-monitor.js';
import { DeferredNodeMetrics } from './metrics/deferred-metrics.js';
import { type DeadWorker, type Driver, NodeManagerHandlers } from './node-manager-service.js';
import { readNodeMemory } from './node-memory.js';
import { ObjectManager } from './objects/object-manager.js';
import { type HostedStore, startObjectStore } from './objects/store-host.js';
import { type RayletOptions, resolveOptions } from './options.js';
import { RuntimeEnvAgentProcess } from './runtime-env/agent-process.js';
import { watchFinishedJobs } from './runtime-env/job-watch.js';
import { jobReference, runtimeEnvHandlers } from './runtime-env/runtime-env-service.js';
import { recordSessionGcsAddress } from './session.js';
import { WorkerLogs } from './worker-logs.js';
import { WorkerPool, type WorkerProcess } from './worker-pool.js';
import { WorkerTableReports } from './worker-table-reports.js';

export interface Raylet {
  /** Hex node id. */
  readonly nodeId: string;
  readonly socketPath: string;
  readonly storeSocketPath: string;
  readonly grpcPort: number;
  /** TCP port of the framed NodeManagerService (leases for other nodes' drivers and workers). */
  readonly framedPort: number;
  /** Port of the Prometheus endpoint (`http://host:port/metrics`, token required); 0 = off. */
  readonly metricsPort: number;
  /** Resolves when the raylet stopped (by `stop()` or ShutdownRaylet). */
  readonly stopped: Promise<void>;
  /** Exit records of the workers that died, newest last (for stats and tests). */
  readonly deadWorkers: ReadonlyArray<{
    pid: number;
    code: number | null;
    signal: string | null;
    reason: string;
  }>;
  stop(reason?: string): Promise<void>;
}

export async function startRaylet(options: RayletOptions): Promise<Raylet> {
  const o = resolveOptions(options);
  const socketsDir = path.join(o.sessionDir, 'sockets');
  mkdirSync(socketsDir, { recursive: true });
  const rayletSocket = path.join(socketsDir, 'raylet');
  const storeSocket = path.join(socketsDir, 'store');
  const nodeIdHex = o.nodeId.toString('hex');

  const cleanups: Array<() => Promise<void> | void> = [];
  const undo = async () => {
    for (const fn of cleanups.reverse()) await fn();
  };
  try {
    const store: HostedStore = await startObjectStore(storeSocket, o.objectStoreMemory, o.objectStore);
    cleanups.push(() => store.close());
    // Moves objects between nodes' stores (PullObject here, chunks to peers over gRPC).
    const objects = await ObjectManager.start({
      nodeId: o.nodeId,
      token: o.token,
      gcsAddress: o.gcsAddress,
      storeSocket: o.objectStore ? storeSocket : undefined,
    });
    cleanups.push(() => objects.close());

    const resources = new NodeResources(o.total);
    const logs = new WorkerLogs(o.sessionDir, o.logToDriver);
    cleanups.push(() => logs.close());
    const deadWorkers: DeadWorker[] = [];
    let workerTable: WorkerTableReports | undefined;
    if (o.gcsAddress) {
      workerTable = new WorkerTableReports(o.gcsAddress, o.token, { nodeId: o.nodeId, ip: o.host }, (m) =>
        process.stderr.write(`${m}\n`),
      );
      cleanups.push(() => workerTable!.close());
    }
    let leases: LeaseManager | undefined;
    let registration: GcsRegistration | undefined;
    const pool = new WorkerPool(
      o,
      { rayletSocket, storeSocket },
      {
        onSpawn: (w) => logs.attach(w),
        onIdle: () => leases?.dispatch(),
        onRetry: () => leases?.dispatch(),
        onDeath: (w: WorkerProcess) => {
          // The record is the worker's own: an exit code that arrives after the death updates it.
          deadWorkers.push(
            Object.assign(w.exit!, {
              pid: w.pid,
              workerId: w.workerId,
              jobId: w.jobId,
              actorId: w.actorId,
              endTimeMs: w.exitedAt,
            }),
          );
          if (deadWorkers.length > 1000) deadWorkers.shift();
          workerTable?.workerDied(w);
          leases?.workerDied(w);
        },
      },
    );
    const killWorkers = () => void pool.close();
    process.on('exit', killWorkers);
    cleanups.push(() => {
      process.off('exit', killWorkers);
      return pool.close();
    });
    // The other nodes, for spillback (none without a GCS).
    let cluster: ClusterView | undefined;
    if (o.gcsAddress) {
      cluster = new ClusterView({ gcsAddress: o.gcsAddress, token: o.token, localNodeId: nodeIdHex });
      cleanups.push(() => cluster!.close());
    }
    leases = new LeaseManager(nodeIdHex, resources, pool, undefined, cluster);
    if (cluster !== undefined) cluster.onRead = () => leases?.respill();
    cleanups.push(() => leases!.close());
    // The runtime-env agent, a process of its own: sets envs up before their workers start
    // (runtime-env/agent-process.ts). The raylet checks lease requests' envs with the same plugins.
    const envPlugins = new PluginRegistry();
    await envPlugins.load(o.runtimeEnvPlugins);
    const envAgent = new RuntimeEnvAgentProcess({
      sessionDir: o.sessionDir,
      nodeId: nodeIdHex,
      gcsAddress: o.gcsAddress,
      token: o.token,
      runtimeEnvPlugins: o.runtimeEnvPlugins,
      runtimeEnvCacheBytes: o.runtimeEnvCacheBytes,
      workerEntry: o.workerEntry,
    });
    const killAgent = () => envAgent.killNow();
    process.on('exit', killAgent);
    cleanups.push(() => {
      process.off('exit', killAgent);
      return envAgent.close();
    });
    leases.envs = leases.starter(envAgent);
    // A job over (here or anywhere): its eager-install reference and its idle env workers go.
    const jobEnded = (jobId: Uint8Array) => {
      void envAgent.release(jobReference(jobId));
      pool.jobFinished(jobId);
    };
    if (o.gcsAddress) {
      const jobs = watchFinishedJobs(o.gcsAddress, o.token, jobEnded);
      cleanups.push(() => jobs.close());
    }
    const monitor = new MemoryMonitor({
      threshold: o.memoryUsageThreshold,
      refreshMs: o.memoryMonitorRefreshMs,
      read: () => readNodeMemory(),
      leases: () => leases!.granted.values(),
      kill: (lease, message) =>
        pool.kill(lease.worker, 'killed by the memory monitor', { type: ErrorType.OUT_OF_MEMORY, message }),
    });
    cleanups.push(() => monitor.close());
    // The GCS hears of a reserved or cancelled bundle at once, not at the next heartbeat.
    const bundles = new BundleReservations(resources, leases, () => registration?.heartbeat());

    const drivers = new Set<Driver>();
    let stopping: Promise<void> | undefined;
    let stoppedResolve!: () => void;
    const stopped = new Promise<void>((resolve) => (stoppedResolve = resolve));
    const stop = (reason = 'stopped') => {
      if (stopping === undefined) {
        stopping = (async () => {
          if (registration) await registration.close(reason);
          await undo();
          stoppedResolve();
        })();
      }
      return stopping;
    };
    const handlers = new NodeManagerHandlers({
      nodeId: o.nodeId,
      storeSocket,
      gcsAddress: o.gcsAddress ?? '',
      sessionDir: o.sessionDir,
      resources,
      pool,
      leases,
      bundles,
      logs,
      drivers,
      deadWorkers,
      requestShutdown: (reason) => void stop(reason),
      objects,
      runtimeEnvs: envPlugins,
      runtimeEnvAgent: envAgent,
      driverGone: (driver) => jobEnded(driver.jobId),
      workerTable,
      store,
    });

    const framed: FramedServer = await listen(
      rayletSocket,
      (c) => {
        handlers.serveFramed(c);
        objects.serveFramed(c);
      },
      {
        token: o.token,
        label: 'raylet client',
      },
    );
    cleanups.push(() => framed.close());
    // The same service over TCP, for drivers and workers of other nodes sent here by spillback.
    const framedTcp: FramedServer = await listen(
      { host: o.host, port: o.framedPort },
      (c) => {
        handlers.serveFramed(c, true);
        // Other raylets fetch objects' chunks here (GetObjectChunk).
        objects.serveFramed(c);
      },
      { token: o.token, label: 'raylet client (tcp)' },
    );
    cleanups.push(() => framedTcp.close());
    const framedPort = (framedTcp.address as { port: number }).port;
    // Workers boot while the rest starts: they only need the raylet socket to register. One
    // first, the others once it registered (WorkerPool.prestartAtBoot).
    pool.prestartAtBoot(o.prestartWorkers);
    const grpc: TrayGrpcServer = createGrpcServer({ token: o.token });
    grpc.addService(NodeManagerService, handlers.grpcHandlers());
    grpc.addService(ObjectManagerService, objects.grpcHandlers());
    grpc.addService(RuntimeEnvService, runtimeEnvHandlers(envAgent, envPlugins));
    const grpcPort = await grpc.listen(o.host, o.grpcPort);
    cleanups.push(() => grpc.close(200));
    let metricsPort = 0;
    if (o.metricsExportPort !== undefined) {
      // prom-client is loaded only by a raylet that serves metrics, and after its start
      // (metrics/deferred-metrics.ts).
      const metrics = new DeferredNodeMetrics({
        sessionName: path.basename(o.sessionDir),
        nodeAddress: o.host,
        nodeId: nodeIdHex,
        leases,
        pool,
        store,
        resources,
      });
      cleanups.push(() => metrics.close());
      const endpoint = await serveMetrics({
        host: o.host,
        port: o.metricsExportPort,
        token: o.token,
        collect: async () => {
          const registry = await metrics.registry();
          return { contentType: registry.contentType, body: await registry.metrics() };
        },
      });
      cleanups.push(() => endpoint.close());
      metricsPort = endpoint.port;
    }

    if (o.gcsAddress) {
      registration = await GcsRegistration.register({
        gcsAddress: o.gcsAddress,
        token: o.token,
        nodeId: o.nodeId,
        host: o.host,
        grpcPort,
        framedPort,
        metricsPort,
        rayletSocket,
        storeSocket,
        isHead: o.isHead,
        total: () => resources.total,
        available: () => resources.available,
        connectTimeoutMs: o.gcsConnectTimeoutMs,
      });
      // Drivers on this machine send this session's token to this GCS address only.
      recordSessionGcsAddress(o.sessionDir, o.gcsAddress);
    }
    return {
      nodeId: nodeIdHex,
      socketPath: rayletSocket,
      storeSocketPath: storeSocket,
      grpcPort,
      framedPort,
      metricsPort,
      stopped,
      deadWorkers,
      stop,
    };
  } catch (err) {
    await undo();
    throw err;
  }
}
