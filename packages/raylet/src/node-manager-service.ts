// NodeManagerService: the raylet's handlers, served the same way over the framed socket (for
// the drivers and workers of this node: they register there, and their connection is their
// lifetime) and over gRPC (for the GCS and other nodes: no registration there). Every request
// is validated before it touches the pool or the leases.
import path from 'node:path';
import type { StoredObject } from '@tray/object-store';
import {
  type Connection,
  checkId,
  checkLeaseId,
  checkString,
  ErrorType,
  errorWithInfo,
  IdBytes,
  invalidArgument,
  type Message,
  NodeManagerService,
  type ServiceHandlers,
  type tray,
} from '@tray/protocol';
import type { PluginRegistry } from '@tray/runtime-env';
import type { NodeResources } from '@tray/scheduler';
import type { BundleReservations } from './bundles/bundle-reservations.js';
import { parseBundleSpec, parseBundleSpecs } from './bundles/bundle-spec.js';
import { addCoreWorkerStats } from './core-worker-stats.js';
import type { LeaseManager } from './leases/lease-manager.js';
import { parseLeaseRequest } from './leases/lease-request.js';
import { listLogFiles, readLog } from './log-files.js';
import type { RuntimeEnvAgentProcess } from './runtime-env/agent-process.js';
import type { WorkerLogs } from './worker-logs.js';
import type { WorkerPool, WorkerProcess } from './worker-pool.js';

export interface Driver {
  workerId: Buffer;
  jobId: Buffer;
  pid: number;
  connection: Connection;
}

/** How a worker process ended; its code and signal are filled in when the exit arrives. */
export interface DeadWorker {
  pid: number;
  workerId?: Buffer;
  code: number | null;
  signal: string | null;
  reason: string;
  cause?: tray.v1.IErrorInfo;
  jobId?: Buffer;
  actorId?: Buffer;
  endTimeMs?: number;
}

export interface NodeManagerContext {
  nodeId: Buffer;
  storeSocket: string;
  gcsAddress: string;
  sessionDir: string;
  resources: NodeResources;
  pool: WorkerPool;
  leases: LeaseManager;
  /** Placement-group bundles reserved here (the GCS's two-phase commit). */
  bundles: BundleReservations;
  logs: WorkerLogs;
  drivers: Set<Driver>;
  /** The newest worker deaths (GetNodeStats reports them: the GCS words actor deaths with them). */
  deadWorkers?: readonly DeadWorker[];
  requestShutdown: (reason: string) => void;
  /** The runtime-env plugins lease requests are checked with. */
  runtimeEnvs?: PluginRegistry;
  /** The node's runtime-env agent process (GetNodeStats reports its cache and pid). */
  runtimeEnvAgent?: RuntimeEnvAgentProcess;
  /** The node's object store (GetNodeStats with include_memory_info lists its objects). */
  store?: { listObjects(limit: number): { objects: StoredObject[]; total: number } };
  /** A driver's connection closed: its job is over on this node. */
  driverGone?(driver: Driver): void;
  /** The GCS's worker table, told of each worker and driver that registers here (worker-table-reports.ts). */
  workerTable?: {
    workerRegistered(worker: WorkerProcess): void;
    driverRegistered(driver: Driver): void;
    driverGone(driver: Driver): void;
  };
  /** The object manager's PullObject (objects/object-manager.ts); absent: PullObject is UNAVAILABLE. */
  objects?: {
    pull(req: tray.v1.PullObjectRequest): Promise<Message<tray.v1.PullObjectReply>>;
    free(req: tray.v1.FreeObjectsOnNodeRequest): Promise<Message<tray.v1.FreeObjectsOnNodeReply>>;
  };
}

type Handlers = ServiceHandlers<typeof NodeManagerService>;

/** Store objects GetNodeStats lists at most (as many as a worker's reference table). */
const MAX_STORE_ROWS = 10_000;

export class NodeManagerHandlers {
  constructor(private readonly ctx: NodeManagerContext) {}

  /**
   * Serve every method on a framed connection: of this node (its Unix socket), or from another
   * node's driver or worker (`tcp`: the framed TCP port, where RegisterWorker is refused).
   * Either way a lease asked for on a connection ends when that connection closes.
   */
  serveFramed(connection: Connection, tcp = false): void {
    const c = connection;
    c.handle(NodeManagerService.RegisterWorker, (req) => {
      if (tcp)
        throw invalidArgument(
          'RegisterWorker is only served on the raylet socket of the node, not its TCP port',
        );
      return this.registerWorker(req, c);
    });
    c.handle(NodeManagerService.RequestWorkerLease, (req) => this.requestWorkerLease(req, c));
    for (const [name, fn] of Object.entries(this.shared())) {
      const method = NodeManagerService[name as keyof typeof NodeManagerService];
      c.handle(method as any, (req: any) => (fn as any)(req));
    }
  }

  /** The same handlers for the gRPC server. */
  grpcHandlers(): Handlers {
    return {
      ...this.shared(),
      RegisterWorker: () => {
        throw invalidArgument(
          'RegisterWorker is only served on the raylet socket of the node (framed transport)',
        );
      },
      // The GCS (actor creation) chose this node itself: its requests are granted or rejected
      // here, never sent on (as if `grant_or_reject` were set).
      RequestWorkerLease: (req) => this.requestWorkerLease(req, undefined, true),
    };
  }

  private shared() {
    const ctx = this.ctx;
    return {
      ReturnWorkerLease: (req: tray.v1.ReturnWorkerLeaseRequest): Message<tray.v1.ReturnWorkerLeaseReply> => {
        const leaseId = checkLeaseId(req.leaseId, false);
        const workerId = checkId(req.workerId, IdBytes.worker, 'worker_id', true);
        ctx.leases.return(leaseId, workerId, req.disconnectWorker);
        return {};
      },
      CancelWorkerLease: (
        req: tray.v1.CancelWorkerLeaseRequest,
      ): Message<tray.v1.CancelWorkerLeaseReply> => ({
        success: ctx.leases.cancel(checkLeaseId(req.leaseId, false)),
      }),
      ReleaseUnusedActorWorkers: (
        req: tray.v1.ReleaseUnusedActorWorkersRequest,
      ): Message<tray.v1.ReleaseUnusedActorWorkersReply> => {
        const inUse = new Set(
          req.workerIdsInUse.map((id, i) =>
            checkId(id, IdBytes.worker, `worker_ids_in_use[${i}]`).toString('hex'),
          ),
        );
        return { released: ctx.leases.releaseUnusedActorWorkers(inUse) };
      },
      PrestartWorkers: (req: tray.v1.PrestartWorkersRequest): Message<tray.v1.PrestartWorkersReply> => {
        const n = req.numWorkers;
        if (!Number.isInteger(n) || n < 0 || n > ctx.pool.maxWorkers) {
          throw invalidArgument(
            `num_workers must be a whole number from 0 to ${ctx.pool.maxWorkers}, got ${n}`,
          );
        }
        const hash = checkString(req.runtimeEnvHash, 'runtime_env_hash', 128);
        if (hash !== '')
          throw invalidArgument(
            'PrestartWorkers supports only the default runtime environment (runtime_env_hash "")',
          );
        ctx.pool.prestart(n);
        return {};
      },
      GetNodeStats: (req: tray.v1.GetNodeStatsRequest): Promise<Message<tray.v1.GetNodeStatsReply>> =>
        this.stats(req),
      ShutdownRaylet: (): Message<tray.v1.ShutdownRayletReply> => {
        setImmediate(() => ctx.requestShutdown('ShutdownRaylet was requested'));
        return {};
      },
      NotifyWorkerBlocked: (
        req: tray.v1.NotifyWorkerBlockedRequest,
      ): Message<tray.v1.NotifyWorkerBlockedReply> => {
        const worker = this.workerById(req.workerId);
        if (worker) ctx.leases.workerBlocked(worker);
        return {};
      },
      NotifyWorkerUnblocked: (
        req: tray.v1.NotifyWorkerUnblockedRequest,
      ): Message<tray.v1.NotifyWorkerUnblockedReply> => {
        const worker = this.workerById(req.workerId);
        if (worker) ctx.leases.workerUnblocked(worker);
        return {};
      },
      PrepareBundleResources: (
        req: tray.v1.PrepareBundleResourcesRequest,
      ): Message<tray.v1.PrepareBundleResourcesReply> => ({
        success: ctx.bundles.prepare(parseBundleSpecs(req.bundles, ctx.nodeId)),
      }),
      CommitBundleResources: (
        req: tray.v1.CommitBundleResourcesRequest,
      ): Message<tray.v1.CommitBundleResourcesReply> => {
        ctx.bundles.commit(parseBundleSpecs(req.bundles, ctx.nodeId));
        return {};
      },
      CancelResourceReserve: (
        req: tray.v1.CancelResourceReserveRequest,
      ): Message<tray.v1.CancelResourceReserveReply> => {
        ctx.bundles.cancel(parseBundleSpec(req.bundle, 'bundle', ctx.nodeId, false));
        return {};
      },
      GlobalGC: (): Message<tray.v1.GlobalGCReply> => ({}),
      ListLogs: async (req: tray.v1.ListLogsRequest): Promise<Message<tray.v1.ListLogsReply>> => ({
        files: await listLogFiles(path.join(ctx.sessionDir, 'logs'), req.glob),
      }),
      GetLog: (req: tray.v1.GetLogRequest): Promise<Message<tray.v1.GetLogReply>> =>
        readLog(path.join(ctx.sessionDir, 'logs'), req),
      GetWorkerFailureCause: (
        req: tray.v1.GetWorkerFailureCauseRequest,
      ): Message<tray.v1.GetWorkerFailureCauseReply> => {
        const workerId = checkId(req.workerId, IdBytes.worker, 'worker_id');
        const dead = ctx.deadWorkers ?? [];
        for (let i = dead.length - 1; i >= 0; i--) {
          const d = dead[i]!;
          if (d.workerId?.equals(workerId)) return d.cause ? { failureCause: d.cause } : {};
        }
        return {};
      },
      PullObject: (req: tray.v1.PullObjectRequest): Promise<Message<tray.v1.PullObjectReply>> => {
        if (ctx.objects === undefined) {
          throw errorWithInfo({ type: ErrorType.UNAVAILABLE, message: 'this raylet has no object manager' });
        }
        return ctx.objects.pull(req);
      },
      FreeObjects: (
        req: tray.v1.FreeObjectsOnNodeRequest,
      ): Promise<Message<tray.v1.FreeObjectsOnNodeReply>> => {
        if (ctx.objects === undefined) {
          throw errorWithInfo({ type: ErrorType.UNAVAILABLE, message: 'this raylet has no object manager' });
        }
        return ctx.objects.free(req);
      },
      PinObjectIDs: (): Message<tray.v1.PinObjectIDsReply> => {
        throw errorWithInfo({
          type: ErrorType.INTERNAL,
          message:
            'PinObjectIDs is not implemented by this raylet: workers create primary copies pinned (store.proto)',
        });
      },
    };
  }

  private workerById(bytes: Uint8Array): WorkerProcess | undefined {
    const id = checkId(bytes, IdBytes.worker, 'worker_id');
    return this.ctx.pool.workers.get(id.toString('hex'));
  }

  private registerWorker(
    req: tray.v1.RegisterWorkerRequest,
    connection: Connection,
  ): Message<tray.v1.RegisterWorkerReply> {
    const ctx = this.ctx;
    const workerId = checkId(req.workerId, IdBytes.worker, 'worker_id');
    if (!Number.isInteger(req.pid) || req.pid <= 0)
      throw invalidArgument(`pid must be a positive integer, got ${req.pid}`);
    if (connection.context !== undefined)
      throw invalidArgument('this connection already registered a worker or driver');
    const address = req.address ?? {};
    checkString(address.socketPath ?? '', 'address.socket_path', 1024);
    const reply = {
      nodeId: ctx.nodeId,
      storeSocket: ctx.storeSocket,
      gcsAddress: ctx.gcsAddress,
      sessionDir: ctx.sessionDir,
    };
    if (req.isDriver) {
      const jobId = checkId(req.jobId, IdBytes.job, 'job_id');
      const driver: Driver = { workerId, jobId, pid: req.pid, connection };
      connection.context = driver;
      ctx.drivers.add(driver);
      ctx.logs.addDriver(jobId, connection);
      ctx.workerTable?.driverRegistered(driver);
      connection.on('close', () => {
        ctx.drivers.delete(driver);
        ctx.leases.ownerGone(workerId.toString('hex'), connection);
        ctx.driverGone?.(driver);
        ctx.workerTable?.driverGone(driver);
      });
      return { ...reply, jobId };
    }
    const token = checkString(req.startupToken, 'startup_token', 256);
    const worker = ctx.pool.register(
      token,
      workerId,
      { ...address, workerId, nodeId: ctx.nodeId },
      connection,
    );
    if (worker === undefined) {
      throw errorWithInfo({
        type: ErrorType.UNAUTHENTICATED,
        message:
          'unknown startup token or worker id: only processes started by this raylet register as workers',
      });
    }
    connection.context = worker;
    ctx.workerTable?.workerRegistered(worker);
    return { ...reply, jobId: worker.jobId ?? new Uint8Array(0) };
  }

  private requestWorkerLease(
    req: tray.v1.WorkerLeaseRequest,
    connection: Connection | undefined,
    neverSpill = false,
  ): Promise<Message<tray.v1.WorkerLeaseReply>> {
    const request = parseLeaseRequest(req, this.ctx.runtimeEnvs);
    if (neverSpill) request.forwarded = true;
    return this.ctx.leases.request(request, connection);
  }

  private async runtimeEnvStats(): Promise<
    Pick<
      tray.v1.GetNodeStatsReply.$Properties,
      'runtimeEnvCache' | 'runtimeEnvCreated' | 'runtimeEnvAgentPid' | 'runtimeEnvAgentRestarts'
    >
  > {
    const agent = this.ctx.runtimeEnvAgent;
    if (agent === undefined) return {};
    const info = await agent.info();
    return {
      runtimeEnvAgentPid: agent.pid ?? 0,
      runtimeEnvAgentRestarts: agent.restartCount,
      ...(info && {
        runtimeEnvCache: info.entries.map((e) => ({
          uri: e.uri,
          plugin: e.plugin,
          bytes: e.bytes,
          refs: e.refs,
        })),
        runtimeEnvCreated: info.created,
      }),
    };
  }

  private async stats(req: tray.v1.GetNodeStatsRequest): Promise<Message<tray.v1.GetNodeStatsReply>> {
    const runtimeEnv = await this.runtimeEnvStats();
    const ctx = this.ctx;
    const workers: tray.v1.WorkerStats.$Properties[] = [];
    const connections: (Connection | undefined)[] = [];
    for (const w of ctx.pool.workers.values()) {
      connections.push(w.connection);
      workers.push({
        pid: w.pid,
        workerId: w.workerId,
        isDriver: false,
        leased: w.state === 'leased',
        actorId: w.actorId ?? new Uint8Array(0),
        jobId: w.jobId ?? new Uint8Array(0),
      });
    }
    for (const d of ctx.drivers) {
      connections.push(d.connection);
      workers.push({ pid: d.pid, workerId: d.workerId, isDriver: true, jobId: d.jobId });
    }
    let store: { storeObjects: tray.v1.IStoreObject[]; storeObjectsTotal: number } | undefined;
    if (req.includeMemoryInfo) {
      // The store's list first: objects whose owner is gone or elsewhere are only here.
      const limit = req.limitPerWorker > 0 ? Math.min(req.limitPerWorker, MAX_STORE_ROWS) : MAX_STORE_ROWS;
      const listed = ctx.store?.listObjects(limit);
      if (listed) store = { storeObjects: listed.objects, storeObjectsTotal: listed.total };
      await addCoreWorkerStats(workers, connections, req.limitPerWorker);
    }
    return {
      ...store,
      workers,
      total: { quantities: ctx.resources.total.toRecord() },
      available: { quantities: ctx.resources.available.toRecord() },
      numPendingLeases: ctx.leases.pendingCount,
      numInfeasibleLeases: ctx.leases.infeasibleCount,
      deadWorkers: (ctx.deadWorkers ?? []).map((d) => ({
        workerId: d.workerId ?? new Uint8Array(0),
        pid: d.pid,
        hasExitCode: d.code !== null,
        exitCode: d.code ?? 0,
        signal: d.signal ?? '',
        reason: d.reason,
        jobId: d.jobId ?? new Uint8Array(0),
        actorId: d.actorId ?? new Uint8Array(0),
        endTimeMs: d.endTimeMs ?? 0,
      })),
      ...runtimeEnv,
    };
  }
}
