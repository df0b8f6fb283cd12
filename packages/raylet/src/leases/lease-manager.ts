// Worker leases on this node: requests queue per scheduling class and are granted, in order
// within a class and in turn across classes (one grant per class per round, so a steady stream
// of task leases cannot starve an actor's restart of the CPU it needs to be placed), when the node's resources are free and an idle worker of the right runtime
// environment exists (one is started when none does). A granted lease holds its resources and
// its worker until the owner returns it, the worker dies, or the owner goes away — then the
// resources come back, and the workers that ran a dead owner's tasks are killed (Ray: tasks of
// a dead owner are useless). A request meant for another node (lease-placement.ts) is answered
// at once with that node's address (spillback); one that no alive node could ever satisfy is
// answered at once as infeasible, naming what is missing.
import { type Connection, ErrorType, errorWithInfo, invalidArgument, type tray } from '@tray/protocol';
import { InvalidResourceError, type NodeResources, StrategyScheduler } from '@tray/scheduler';
import type { WorkerPool, WorkerProcess } from '../worker-pool.js';
import { lendCpu, takeCpuBack } from './blocked-cpu.js';
import type { ClusterNodes } from './cluster-view.js';
import { type Placement, placeLease } from './lease-placement.js';
import { type GrantedLease, LeaseQueues, type LeaseReply, type PendingLease } from './lease-queues.js';

export type { GrantedLease } from './lease-queues.js';

import type { LeaseRequest } from './lease-request.js';
import { RuntimeEnvStarter } from './runtime-env-starter.js';

const INFEASIBLE_MEMORY_MS = 10_000;
/** Workers of one runtime env dying this many times in a row before registering fail its leases. */
const MAX_STARTUP_FAILURES = 3;

export class LeaseManager {
  private readonly pending = new LeaseQueues();
  readonly granted = new Map<string, GrantedLease>();
  private readonly byWorker = new Map<WorkerProcess, GrantedLease>();
  private readonly watched = new WeakSet<Connection>();
  private readonly infeasibleSeen = new Map<string, number>();
  private readonly scheduler = new StrategyScheduler();
  private dispatching = false;
  private dispatchAgain = false;
  /** Requests answered with another node's address (spillback), for stats and tests. */
  spilledCount = 0;
  private grants = 0;
  /** Sets runtime envs up before their workers start (the raylet gives it its agent). */
  envs: RuntimeEnvStarter;
  /** Told of each grant and how long its request waited in ms (the node's metrics). */
  onGranted?: (waitMs: number, lease: GrantedLease) => void;

  constructor(
    private readonly nodeId: string,
    private readonly resources: NodeResources,
    private readonly pool: WorkerPool,
    /** Called whenever the node's available resources changed. */
    private readonly onResourcesChanged: () => void = () => {},
    /** The other nodes (none without a GCS: every request stays here or is infeasible). */
    private readonly cluster?: ClusterNodes,
  ) {
    this.envs = this.starter(undefined);
  }

  /** A starter of workers whose envs `agent` sets up. */
  starter(agent: ConstructorParameters<typeof RuntimeEnvStarter>[0]): RuntimeEnvStarter {
    return new RuntimeEnvStarter(agent, this.pool, {
      failed: (hash, message) => this.failEnv(hash, message),
      settled: () => this.dispatch(),
    });
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Leases granted on this node since it started. */
  get grantCount(): number {
    return this.grants;
  }

  /** The requests queued now (a snapshot). */
  queued(): PendingLease[] {
    return this.pending.all();
  }

  get infeasibleCount(): number {
    const now = Date.now();
    for (const [key, at] of this.infeasibleSeen)
      if (now - at > INFEASIBLE_MEMORY_MS) this.infeasibleSeen.delete(key);
    return this.infeasibleSeen.size;
  }

  leaseOf(worker: WorkerProcess): GrantedLease | undefined {
    return this.byWorker.get(worker);
  }

  /**
   * Queue a request; resolves when it is granted, found infeasible, cancelled, or sent on to
   * another node (`retryAtRayletAddress`).
   */
  request(request: LeaseRequest, ownerConnection: Connection | undefined): Promise<LeaseReply> {
    this.checkUnused(request);
    const placement = this.place(request);
    const cluster = this.cluster;
    if (placement.kind === 'infeasible' && !request.forwarded && cluster) {
      // A node that just joined may be the one: look again before saying no node can.
      return cluster.refresh().then(() => {
        this.checkUnused(request);
        return this.settle(request, ownerConnection, this.place(request));
      });
    }
    return this.settle(request, ownerConnection, placement);
  }

  private checkUnused(request: LeaseRequest): void {
    const key = request.leaseId.toString('hex');
    if (this.pending.has(key) || this.granted.has(key)) {
      throw invalidArgument(`lease_id ${key} is already in use on this node`);
    }
  }

  private place(request: LeaseRequest): Placement {
    try {
      return placeLease(
        request,
        { nodeId: this.nodeId, resources: this.resources },
        this.cluster?.remoteNodes() ?? [],
        this.scheduler.policyFor(request.strategy),
      );
    } catch (err) {
      if (err instanceof InvalidResourceError) throw invalidArgument(err.message);
      throw err;
    }
  }

  private settle(
    request: LeaseRequest,
    ownerConnection: Connection | undefined,
    placement: Placement,
  ): Promise<LeaseReply> {
    if (placement.kind === 'infeasible') {
      this.infeasibleSeen.set(request.classKey, Date.now());
      return Promise.resolve({
        infeasible: true,
        failureMessage: placement.reason,
        leaseId: request.leaseId,
      });
    }
    if (placement.kind === 'spill') {
      this.spilledCount += 1;
      return Promise.resolve({ retryAtRayletAddress: placement.node.address, leaseId: request.leaseId });
    }
    if (ownerConnection) this.watch(ownerConnection);
    return new Promise<LeaseReply>((resolve, reject) => {
      this.pending.add({ request, ownerConnection, resolve, reject, queuedAt: performance.now() });
      this.dispatch();
    });
  }

  /** Cancel a request that is still queued; false if it was granted or is unknown. */
  cancel(leaseId: Buffer): boolean {
    const pending = this.pending.get(leaseId.toString('hex'));
    if (pending === undefined) return false;
    this.cancelQueued(pending, 'lease request cancelled');
    return true;
  }

  /** The owner is done with a lease: resources back, worker back to the pool (or killed). */
  return(leaseId: Buffer, workerId: Buffer, disconnectWorker: boolean): void {
    const lease = this.granted.get(leaseId.toString('hex'));
    if (lease === undefined) return; // already reclaimed (worker died, owner gone): nothing to do
    if (workerId.length > 0 && !workerId.equals(lease.worker.workerId)) {
      throw invalidArgument(
        `lease ${leaseId.toString('hex')} was granted to another worker than ${workerId.toString('hex')}`,
      );
    }
    this.release(lease);
    if (disconnectWorker || lease.request.isActor || lease.worker.dedicated) {
      this.pool.kill(
        lease.worker,
        disconnectWorker ? 'its owner asked to disconnect it' : 'its actor lease was returned',
      );
    } else {
      this.pool.pushIdle(lease.worker); // triggers dispatch through onIdle
    }
    this.changed();
  }

  /** A worker died: its lease (if any) is over. */
  workerDied(worker: WorkerProcess): void {
    const lease = this.byWorker.get(worker);
    if (lease !== undefined) this.release(lease);
    this.ownerGone(worker.idHex, worker.connection);
    this.changed();
  }

  /** The owner (a driver or worker, or the connection it asked on) is gone. */
  ownerGone(ownerWorkerId: string | undefined, connection: Connection | undefined): void {
    for (const pending of this.pending.all()) {
      const mine =
        (connection !== undefined && pending.ownerConnection === connection) ||
        (ownerWorkerId !== undefined && pending.request.ownerWorkerId === ownerWorkerId);
      if (!mine) continue;
      this.cancelQueued(pending, 'the lease owner is gone');
    }
    for (const lease of [...this.granted.values()]) {
      const mine =
        (connection !== undefined && lease.ownerConnection === connection) ||
        (ownerWorkerId !== undefined && lease.request.ownerWorkerId === ownerWorkerId);
      if (!mine) continue;
      this.release(lease);
      this.pool.kill(lease.worker, 'the owner of its lease died');
    }
    this.changed();
  }

  /**
   * A GCS (re)started (ReleaseUnusedActorWorkers): the actor leases asked over gRPC (by a GCS;
   * nothing else leases there) whose worker is not in `inUse` (hex worker ids of the actors it
   * found ALIVE here) were a dead GCS's creation attempts, which nobody will return: granted ones
   * are released and their workers killed, queued ones cancelled. Returns how many.
   */
  releaseUnusedActorWorkers(inUse: ReadonlySet<string>): number {
    let released = 0;
    for (const pending of this.pending.all()) {
      if (!pending.request.isActor || pending.ownerConnection !== undefined) continue;
      this.cancelQueued(pending, 'the GCS that asked for it restarted');
      released++;
    }
    for (const lease of [...this.granted.values()]) {
      if (!lease.request.isActor || lease.ownerConnection !== undefined) continue;
      if (inUse.has(lease.worker.idHex)) continue;
      this.release(lease);
      this.pool.kill(lease.worker, 'its actor lease belonged to a GCS that restarted');
      released++;
    }
    if (released > 0) this.changed();
    return released;
  }

  /**
   * The resources named are going away (a placement-group bundle was cancelled): every lease
   * holding any of them is over — its resources come back and its worker is killed.
   */
  evictHolding(names: ReadonlySet<string>, reason: string): void {
    for (const lease of [...this.granted.values()]) {
      const holds = lease.grants.some((g) => g.resources.names.some((name) => names.has(name)));
      if (!holds) continue;
      this.release(lease);
      this.pool.kill(lease.worker, reason);
    }
  }

  /**
   * The view of the other nodes was read again: a request queued here while no other node had
   * room (or before a node that joined was seen) is sent on to a node that has room now, as
   * Ray's raylet does when resource reports arrive. Without this a request queued behind a
   * busy node waits for it even though another node is idle.
   */
  respill(): void {
    if (this.cluster === undefined || this.pending.size === 0) return;
    for (const pending of this.pending.all()) {
      const { request } = pending;
      if (request.forwarded) continue;
      let placement: Placement;
      try {
        placement = this.place(request);
      } catch {
        continue; // words its error when the request is placed again, not here
      }
      if (placement.kind !== 'spill') continue;
      this.pending.drop(pending);
      this.spilledCount += 1;
      pending.resolve({ retryAtRayletAddress: placement.node.address, leaseId: request.leaseId });
    }
  }

  /** Queued requests this node can no longer ever serve (their bundle is gone) are answered infeasible. */
  failInfeasible(): void {
    for (const pending of this.pending.all()) {
      const { request } = pending;
      if (this.resources.isFeasible(request.schedule) && this.resources.isFeasible(request.hold)) continue;
      this.pending.drop(pending);
      this.infeasibleSeen.set(request.classKey, Date.now());
      const missing = request.schedule.add(request.hold).missingFrom(this.resources.total);
      pending.resolve({
        infeasible: true,
        leaseId: request.leaseId,
        failureMessage: `this node no longer has ${missing} (its placement-group bundle was removed)`,
      });
    }
  }

  /** The worker waits on other tasks: its CPU is lent to the node. */
  workerBlocked(worker: WorkerProcess): void {
    const lease = this.byWorker.get(worker);
    if (lease !== undefined && lendCpu(lease, this.resources)) this.changed();
  }

  /** The worker runs again: it takes its CPU back, even if that oversubscribes the node. */
  workerUnblocked(worker: WorkerProcess): void {
    const lease = this.byWorker.get(worker);
    if (lease !== undefined && takeCpuBack(lease, this.resources)) this.onResourcesChanged();
  }

  /** Grant what can be granted now. Safe to call at any time. */
  dispatch(): void {
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.dispatchAgain = false;
        this.dispatchOnce();
      } while (this.dispatchAgain);
    } finally {
      this.dispatching = false;
    }
  }

  /** Reply to every queued request (the raylet is shutting down). */
  close(): void {
    for (const pending of this.pending.all()) {
      this.cancelQueued(pending, 'the raylet is shutting down');
    }
  }

  /** Take a queued request out and answer it as canceled, saying why. */
  private cancelQueued(pending: PendingLease, why: string): void {
    this.pending.drop(pending);
    pending.resolve({ canceled: true, leaseId: pending.request.leaseId, failureMessage: why });
  }

  private dispatchOnce(): void {
    const wanted = new Map<string, number>();
    this.pending.rounds((pending) => this.grantFirst(pending, wanted));
  }

  /** Grant `pending` (the first of its class) if resources and a worker allow; else start one. */
  private grantFirst(pending: PendingLease, wanted: Map<string, number>): boolean {
    const { request } = pending;
    if (!this.resources.isAvailable(request.schedule) || !this.resources.isAvailable(request.hold))
      return false;
    const worker = this.pool.popIdle(request.runtimeEnvHash);
    if (worker === undefined) {
      const env = request.runtimeEnvHash;
      const failures = this.pool.startupFailures(env);
      if (failures !== undefined && failures.count >= MAX_STARTUP_FAILURES) {
        this.failStartups(env, failures.count, failures.last);
        return false;
      }
      const need = (wanted.get(env) ?? 0) + 1;
      wanted.set(env, need);
      const canStart = request.isActor || this.pool.sharedWorkerCount < this.pool.maxWorkers;
      if (canStart && this.envs.starting(env) < need) this.envs.start(request);
      return false;
    }
    this.grant(pending, worker);
    return true;
  }

  /** Workers of `env` cannot start: every lease waiting for one fails, saying where to look. */
  private failStartups(env: string, count: number, last: WorkerProcess): void {
    const exit = last.exit;
    const how = exit?.signal ? `signal ${exit.signal}` : `exit code ${exit?.code}`;
    const message =
      `worker processes${env ? ` for runtime environment ${env}` : ''} exited before registering with the raylet ` +
      `${count} times in a row (last: pid ${last.pid}, ${how}); see logs/worker-${last.pid}.err in the session directory` +
      (env ? ' and check the runtime environment' : ' and check the workerEntry script');
    this.failEnv(env, message);
    this.pool.forgetStartupFailures(env);
  }

  /** Every lease waiting for a worker of `env` fails with RuntimeEnvSetupError(message). */
  private failEnv(env: string, message: string): void {
    for (const pending of this.pending.all()) {
      if (pending.request.runtimeEnvHash !== env) continue;
      this.pending.drop(pending);
      pending.reject(errorWithInfo({ type: ErrorType.RUNTIME_ENV_SETUP_FAILED, message }));
    }
  }

  private grant(pending: PendingLease, worker: WorkerProcess): void {
    const { request } = pending;
    this.pending.granted(pending);
    const grant = this.resources.acquire(request.hold)!;
    const lease: GrantedLease = {
      request,
      worker,
      ownerConnection: pending.ownerConnection,
      grants: [grant],
      blockedCpu: 0,
      grantedAt: ++this.grants,
    };
    worker.state = 'leased';
    worker.jobId = request.jobId.length > 0 ? request.jobId : worker.jobId;
    worker.taskName = request.taskName;
    if (request.isActor) {
      worker.dedicated = true;
      worker.actorId = request.actorId;
    }
    this.granted.set(request.leaseId.toString('hex'), lease);
    this.byWorker.set(worker, lease);
    const instances: tray.v1.ResourceInstance.$Properties[] = [];
    for (const [name, quantity] of grant.resources.entries()) {
      instances.push({ name, quantity, ids: grant.instanceIds[name] ?? [] });
    }
    this.onGranted?.(performance.now() - pending.queuedAt, lease);
    pending.resolve({
      workerAddress: worker.address,
      leaseId: request.leaseId,
      resourceInstances: instances,
      workerPid: worker.pid,
    });
    this.onResourcesChanged();
  }

  private release(lease: GrantedLease): void {
    const key = lease.request.leaseId.toString('hex');
    if (!this.granted.delete(key)) return;
    this.byWorker.delete(lease.worker);
    for (const grant of lease.grants) this.resources.release(grant);
    lease.grants = [];
  }

  private watch(connection: Connection): void {
    if (this.watched.has(connection)) return;
    this.watched.add(connection);
    connection.on('close', () => this.ownerGone(undefined, connection));
  }

  private changed(): void {
    this.onResourcesChanged();
    this.dispatch();
  }
}
