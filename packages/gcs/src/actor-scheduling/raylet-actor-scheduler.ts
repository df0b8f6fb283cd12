// The GCS's ActorScheduler (Ray's GcsActorScheduler): creates an actor by leasing a dedicated
// worker from a raylet over gRPC (asking nodes in actor-nodes.ts's order) — as the lease's owner
// itself, so the raylet never ties the worker to the actor's creator — pushing the creation task to
// the worker over the framed transport, and keeping that connection open: its closing is the
// actor's death (the exit code or signal comes from the raylet's GetNodeStats). Killing returns the
// lease, which makes the raylet kill the worker. Owners of non-detached actors are watched
// (owner-watch.ts). A worker that dies (or cannot be reached) before the constructor answered fails
// the attempt with WORKER_DIED, which the actor manager counts as a restart; other failures are
// final (among them hard node affinity to a node the GCS marked dead, which never comes back). A
// GCS restarted on durable storage adopts the ALIVE actors it finds: it connects to their workers
// again (no lease of its own: killing one asks the worker to exit). Before it leases anything from
// a node, it has that node's raylet drop the actor leases its predecessor took and nobody will
// return (ReleaseUnusedActorWorkers with the workers of the actors it adopted there), so a creation
// cut short by the GCS's death holds no worker or resources.
import { randomBytes } from 'node:crypto';
import {
  addressTarget,
  type Connection,
  CoreWorkerService,
  connect,
  ErrorType,
  errorWithInfo,
  GrpcClients,
  IdBytes,
  leaseTaskSpec,
  NodeManagerService,
  rayletGrpcAddress,
  type TrayGrpcClient,
  taskAttempt,
  type tray,
} from '@tray/protocol';
import type { ActorScheduler } from '../managers/actor-scheduler.js';
import { bytesKey } from '../storage/storage.js';
import { actorCandidates, failIfPinnedToDeadNode } from './actor-nodes.js';
import { OwnerWatch } from './owner-watch.js';
import { describeWorkerExit } from './worker-exit.js';

/** What the scheduler needs from the rest of the GCS. */
export interface ActorSchedulingContext {
  token: string;
  /** The nodes the node table says are alive (a restarted GCS: before any heartbeat). */
  aliveNodes?(): tray.v1.NodeInfo[];
  /** Alive nodes, with what each has free now. */
  nodes(): { node: tray.v1.NodeInfo; available: Record<string, number> }[];
  /** A node of the table by id (alive or not). */
  node?(nodeId: Uint8Array): tray.v1.NodeInfo | undefined;
  /** The actor's worker went away on its own: `workerId` was running incarnation `actor`. */
  workerDied(actor: tray.v1.ActorTableData, workerId: Uint8Array, cause: tray.v1.IErrorInfo): void;
  /** The owner of non-detached actors at this address is gone. */
  ownerDied(owner: tray.v1.IAddress): void;
  log(message: string): void;
}

interface Incarnation {
  actorKey: string;
  node?: tray.v1.NodeInfo;
  /** Unknown for an actor adopted after a GCS restart (its lease was the previous GCS's). */
  leaseId?: Buffer;
  workerId?: Uint8Array;
  connection?: Connection;
  /** Killed by the GCS (tray.kill, owner death): its connection closing is expected. */
  stopped: boolean;
  /** Until its constructor has run: a death of its node aborts what waits on that node. */
  creating: boolean;
}

const INFEASIBLE_RETRY_MS = 1000;
/** How long a restarted GCS waits for a raylet to release its predecessor's leases. */
const RELEASE_DEADLINE_MS = 10_000;
/** A lease can wait for resources as long as it takes; the GCS's calls do not time out. */
const LEASE_DEADLINE_MS = Number.POSITIVE_INFINITY;

export class RayletActorScheduler implements ActorScheduler {
  /** The owner id of every lease the GCS takes (never a registered worker: never "dies"). */
  private readonly leaseOwnerId = randomBytes(IdBytes.worker);
  private readonly raylets: GrpcClients;
  private readonly current = new Map<string, Incarnation>();
  private readonly owners: OwnerWatch;
  /** Per node (key): what to abort when the GCS marks it dead (leases asked of its raylet). */
  private readonly waitingOn = new Map<string, Set<(err: Error) => void>>();
  /** Per node (key): its raylet releasing a dead GCS's leases; leases there wait for it. */
  private readonly releasing = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly ctx: ActorSchedulingContext) {
    this.owners = new OwnerWatch(ctx.token, (owner) => ctx.ownerDied(owner));
    this.raylets = new GrpcClients({ token: ctx.token });
  }

  async schedule(actor: tray.v1.ActorTableData): Promise<tray.v1.IAddress> {
    const key = bytesKey(actor.actorId);
    const previous = this.current.get(key);
    if (previous) {
      previous.stopped = true;
      this.returnLease(previous);
    }
    const incarnation: Incarnation = {
      actorKey: key,
      leaseId: randomBytes(IdBytes.lease),
      stopped: false,
      creating: true,
    };
    this.current.set(key, incarnation);
    const spec = actor.creationTask!;
    if (!actor.detached && !(await this.owners.watch(actor.ownerAddress))) {
      this.current.delete(key);
      throw errorWithInfo({
        type: ErrorType.OWNER_DIED,
        message: 'its owner (the process that created it) is gone',
      });
    }
    const lease = await this.lease(incarnation, spec);
    const address = lease.workerAddress!;
    incarnation.workerId = address.workerId ?? undefined;
    const fail = (info: tray.v1.IErrorInfo): never => {
      this.returnLease(incarnation);
      throw errorWithInfo({ type: ErrorType.ACTOR_DIED, ...info, message: info.message ?? 'unknown' });
    };
    const workerDied = (message: string): never =>
      fail({ type: incarnation.stopped ? ErrorType.ACTOR_DIED : ErrorType.WORKER_DIED, message });
    if (incarnation.stopped) fail({ message: 'it was killed before it started' });
    let connection: Connection;
    try {
      const peer = addressTarget(address, false);
      if (peer === undefined) throw new Error('the lease gave no address for the worker');
      connection = await connect(peer.target, { token: this.ctx.token, label: 'actor worker' });
    } catch (err) {
      return workerDied(`its worker could not be reached: ${(err as Error).message}`);
    }
    incarnation.connection = connection;
    const visibleDevices: Record<string, string> = {};
    for (const r of lease.resourceInstances) {
      if (r.name === 'GPU' && r.ids && r.ids.length > 0)
        visibleDevices.CUDA_VISIBLE_DEVICES = r.ids.join(',');
    }
    let reply: tray.v1.PushTaskReply;
    try {
      reply = await connection.request(CoreWorkerService.PushTask, {
        // The attempt number tells the new instance it is a restart.
        task: taskAttempt(spec, actor.numRestarts),
        intendedWorkerId: address.workerId,
        visibleDevices,
      });
    } catch (err) {
      connection.close();
      const why = incarnation.stopped ? 'it was killed while its constructor ran' : (err as Error).message;
      return workerDied(`its worker died while creating it: ${why}`);
    }
    const error = reply.returnObjects[0]?.error;
    if (error) {
      connection.close();
      // The constructor threw: the manager keeps this error (class, stack, serialized value).
      return fail({
        ...error,
        message: `its constructor threw ${error.errorClass || 'an error'}: ${error.message}`,
      });
    }
    if (incarnation.stopped) {
      connection.close();
      return fail({ message: 'it was killed while its constructor ran' });
    }
    if (connection.closed) {
      return workerDied('its worker died right after its constructor ran (or its node died)');
    }
    incarnation.creating = false;
    connection.once('close', () => void this.connectionClosed(incarnation, actor));
    return { ...address, nodeId: address.nodeId ?? incarnation.node?.nodeId };
  }

  kill(actor: tray.v1.ActorTableData, _force: boolean): void {
    const key = bytesKey(actor.actorId);
    const incarnation = this.current.get(key);
    if (!incarnation) return;
    this.current.delete(key);
    incarnation.stopped = true;
    if (incarnation.leaseId === undefined && incarnation.connection) {
      // Adopted: no lease to return, so the worker is told to exit; the raylet frees its lease.
      const connection = incarnation.connection;
      connection
        .request(CoreWorkerService.KillActor, { intendedActorId: actor.actorId, forceKill: true })
        .catch(() => {})
        .finally(() => connection.close());
      return;
    }
    this.returnLease(incarnation);
  }

  /**
   * The GCS marked a node dead. A raylet that vanished without closing its connections (a machine
   * that lost power, a network partition) would leave a lease request to it waiting forever: it is
   * aborted, and the actor is asked of the other nodes. A creation task pushed to a worker there is
   * given up too (its connection closed). Actors alive there are restarted by the actor manager.
   */
  nodeDied(nodeId: Uint8Array): void {
    const key = bytesKey(nodeId);
    const waiting = this.waitingOn.get(key);
    this.waitingOn.delete(key);
    for (const abort of waiting ?? []) abort(new Error(`node ${key} died`));
    for (const incarnation of this.current.values()) {
      if (incarnation.creating && incarnation.node && bytesKey(incarnation.node.nodeId) === key) {
        incarnation.connection?.close();
      }
    }
  }

  /**
   * A GCS restarted on durable storage, before it adopts or schedules anything: every alive
   * node's raylet releases the actor leases not held by `alive` (the ALIVE actors found), those a
   * dead GCS took for creations it never finished (see the header). Leases asked of a node wait
   * for its answer (or its failure: a raylet that cannot answer keeps what it holds).
   */
  releaseUnused(alive: readonly tray.v1.ActorTableData[]): void {
    for (const node of this.ctx.aliveNodes?.() ?? []) {
      if (node.rayletPort <= 0) continue; // registered without a raylet: nothing leased there
      const key = bytesKey(node.nodeId);
      const inUse = alive
        .filter((a) => a.address?.workerId?.length && bytesKey(a.address.nodeId) === key)
        .map((a) => a.address!.workerId!);
      const done = this.raylet(node)
        .call(
          NodeManagerService.ReleaseUnusedActorWorkers,
          { workerIdsInUse: inUse },
          { deadlineMs: RELEASE_DEADLINE_MS },
        )
        .then(
          (reply) => {
            if (reply.released > 0) {
              this.ctx.log(`node ${key} released ${reply.released} actor lease(s) of the previous GCS`);
            }
          },
          (err) => this.ctx.log(`node ${key} could not release the previous GCS's leases: ${err.message}`),
        );
      this.releasing.set(key, done);
    }
  }

  /** A GCS restarted on durable storage takes over an ALIVE actor it found (see the header). */
  adopt(actor: tray.v1.ActorTableData): void {
    const key = bytesKey(actor.actorId);
    const address = actor.address;
    if (this.current.has(key) || !address?.workerId || this.closed) return;
    const incarnation: Incarnation = {
      actorKey: key,
      node: address.nodeId ? this.ctx.node?.(address.nodeId) : undefined,
      workerId: address.workerId,
      stopped: false,
      creating: false,
    };
    this.current.set(key, incarnation);
    if (!actor.detached) void this.owners.watch(actor.ownerAddress);
    const peer = addressTarget(address, false);
    const connecting = peer
      ? connect(peer.target, { token: this.ctx.token, label: 'actor worker' })
      : Promise.reject(new Error('no address'));
    connecting.then(
      (connection) => {
        if (incarnation.stopped || this.closed) return connection.close();
        incarnation.connection = connection;
        connection.once('close', () => void this.connectionClosed(incarnation, actor));
      },
      // Its worker went away while no GCS was watching.
      () => void this.connectionClosed(incarnation, actor),
    );
  }

  close(): void {
    this.closed = true;
    this.owners.close();
    for (const incarnation of this.current.values()) incarnation.connection?.close();
    this.current.clear();
    this.raylets.close();
  }

  /** Ask raylets for a dedicated worker until one grants it (infeasible: try others, then wait). */
  private async lease(incarnation: Incarnation, spec: tray.v1.ITaskSpec): Promise<tray.v1.WorkerLeaseReply> {
    let lastReason = '';
    while (!incarnation.stopped && !this.closed) {
      failIfPinnedToDeadNode(spec, (nodeId) => this.ctx.node?.(nodeId));
      for (const node of actorCandidates(spec, this.ctx.nodes())) {
        if (incarnation.stopped) break;
        incarnation.node = node;
        let reply: tray.v1.WorkerLeaseReply;
        try {
          await this.releasing.get(bytesKey(node.nodeId));
          if (incarnation.stopped) break;
          reply = await this.untilNodeDies(
            node,
            this.raylet(node).call(
              NodeManagerService.RequestWorkerLease,
              {
                task: leaseTaskSpec(spec),
                ownerAddress: { workerId: this.leaseOwnerId },
                leaseId: incarnation.leaseId,
              },
              { deadlineMs: LEASE_DEADLINE_MS, retries: 0 },
            ),
          );
        } catch (err) {
          lastReason = (err as Error).message;
          const info = (err as { info?: tray.v1.IErrorInfo }).info;
          // A refused request (bad spec, broken runtime env) will not get better by asking again.
          if (info && info.type !== ErrorType.UNAVAILABLE && info.type !== ErrorType.DEADLINE_EXCEEDED) {
            throw errorWithInfo({ ...info, message: `no worker could be leased for it: ${info.message}` });
          }
          continue;
        }
        if (addressTarget(reply.workerAddress, false) !== undefined) return reply;
        lastReason = reply.failureMessage || 'no worker was granted';
      }
      incarnation.leaseId = randomBytes(IdBytes.lease);
      await new Promise((resolve) => setTimeout(resolve, INFEASIBLE_RETRY_MS).unref());
    }
    throw errorWithInfo({
      type: ErrorType.ACTOR_DIED,
      message: `it was killed before it was scheduled${lastReason ? ` (${lastReason})` : ''}`,
    });
  }

  /** `call`, or a rejection as soon as the GCS marks `node` dead. */
  private untilNodeDies<T>(node: tray.v1.NodeInfo, call: Promise<T>): Promise<T> {
    const key = bytesKey(node.nodeId);
    let abort!: (err: Error) => void;
    const died = new Promise<never>((_, reject) => {
      abort = reject;
    });
    let set = this.waitingOn.get(key);
    if (!set) {
      set = new Set();
      this.waitingOn.set(key, set);
    }
    set.add(abort);
    return Promise.race([call, died]).finally(() => {
      const now = this.waitingOn.get(key);
      now?.delete(abort);
      if (now?.size === 0) this.waitingOn.delete(key);
    });
  }

  private raylet(node: tray.v1.NodeInfo): TrayGrpcClient {
    return this.raylets.get(rayletGrpcAddress(node));
  }

  private returnLease(incarnation: Incarnation): void {
    incarnation.connection?.close();
    const node = incarnation.node;
    if (!node || incarnation.leaseId === undefined) return;
    const client = this.raylet(node);
    if (!incarnation.workerId) {
      client.call(NodeManagerService.CancelWorkerLease, { leaseId: incarnation.leaseId }).catch(() => {});
      return;
    }
    client
      .call(NodeManagerService.ReturnWorkerLease, {
        leaseId: incarnation.leaseId,
        workerId: incarnation.workerId,
        disconnectWorker: true,
      })
      .catch((err) => this.ctx.log(`returning an actor's lease failed: ${(err as Error).message}`));
  }

  /** The actor's worker connection closed without the GCS asking: the process is gone. */
  private async connectionClosed(incarnation: Incarnation, actor: tray.v1.ActorTableData): Promise<void> {
    if (incarnation.stopped || this.closed) return;
    if (this.current.get(incarnation.actorKey) === incarnation) this.current.delete(incarnation.actorKey);
    this.returnLease(incarnation);
    const how = incarnation.node
      ? await describeWorkerExit(this.raylet(incarnation.node), incarnation.workerId!)
      : 'its worker process died';
    this.ctx.workerDied(actor, incarnation.workerId!, {
      type: ErrorType.ACTOR_DIED,
      message: `The actor died: ${how}`,
      reason: how,
      actorId: actor.actorId,
    });
  }
}
