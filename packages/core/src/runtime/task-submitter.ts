// Task submission with Ray's lease model (docs/processes.md): per scheduling class (resource
// shape + function + runtime env + strategy), ask the raylet for worker leases, push queued
// tasks straight to the leased workers (a few in flight per worker), reuse a lease while tasks
// of its class are queued, ask for more leases while tasks wait, and give leases back when the
// queue is empty. A raylet that cannot run the class but knows a node that can answers with that
// node's raylet (spillback): the lease is asked of it, once, and given back to it. An infeasible
// class stays queued: the driver is warned once, naming the missing resource, and the lease is
// asked for again every second.
import { randomBytes } from 'node:crypto';
import {
  type Connection,
  CoreWorkerService,
  ErrorType,
  NodeManagerService,
  type PeerConnections,
  RemoteError,
  tray,
} from '@tray/protocol';
import { encodeLeaseFields, encodePushTask, plainSpec } from './push-encoding.js';
import { PUSH_TASK } from './push-reply.js';
import {
  FRESH_REPLY_MS,
  failureCause,
  giveBack,
  INITIAL_TASKS_IN_FLIGHT,
  type Lease,
  replied,
  type SchedulingQueue,
} from './submitter-leases.js';
import type { PendingTask, TaskManager } from './task-manager.js';
import { TaskQueue } from './task-queue.js';

/** Lease requests outstanding per scheduling class. */
const MAX_PENDING_LEASE_REQUESTS = 10;
const INFEASIBLE_RETRY_MS = 1000;
/** After a spillback target could not be reached, the local raylet is asked again this much later. */
const SPILLBACK_RETRY_MS = 500;
/**
 * An idle lease is kept this long before it is returned, so a caller submitting one task at a
 * time (get(f.remote()) in a loop) reuses its worker instead of asking the raylet each time.
 */
const IDLE_LEASE_MS = 20;

export interface SubmitterContext {
  raylet: Connection;
  /** The framed connection to another node's raylet (a spillback's target). */
  remoteRaylet(address: tray.v1.IAddress): Promise<Connection>;
  peers: PeerConnections;
  ownerAddress: tray.v1.IAddress;
  tasks: TaskManager;
  /** Tell the user something they should know (stderr of the driver). */
  warn(message: string): void;
  /** The GCS's node table (absent: hard node affinity to a dead node waits, as infeasible). */
  nodes?: () => Promise<tray.v1.INodeInfo[]>;
}

export class TaskSubmitter {
  private readonly queues = new Map<string, SchedulingQueue>();
  private closed = false;

  constructor(private readonly ctx: SubmitterContext) {}

  /** Queue a task whose dependencies are resolved. */
  submit(task: PendingTask, front = false): void {
    if (this.closed) return;
    const q = this.queueFor(task.schedulingKey);
    task.status = 'queued';
    this.ctx.tasks.events?.queued(task);
    task.onCancel = this.cancelQueued;
    if (front) q.tasks.unshift(task);
    else q.tasks.push(task);
    this.pump(q);
  }

  /** Stop everything: pending lease requests are dropped and leases given back. */
  close(): void {
    this.closed = true;
    for (const q of this.queues.values()) {
      if (q.retryTimer) clearTimeout(q.retryTimer);
      for (const lease of q.leases) this.returnLease(q, lease, false);
    }
    this.queues.clear();
  }

  private queueFor(key: string): SchedulingQueue {
    let q = this.queues.get(key);
    if (q === undefined) {
      q = {
        key,
        tasks: new TaskQueue(),
        leases: new Set(),
        requesting: 0,
        warnedInfeasible: false,
        retryTimer: undefined,
      };
      this.queues.set(key, q);
    }
    return q;
  }

  private readonly cancelQueued = (task: PendingTask): void => this.dequeue(task);

  /** A running task is cancelled: tell its worker (force kills it). */
  private readonly cancelRunning = (task: PendingTask, force: boolean, recursive: boolean): Promise<void> =>
    (task.runningOn as Lease).connection
      .request(
        CoreWorkerService.CancelTask,
        { intendedTaskId: task.spec.taskId, forceKill: force, recursive },
        { timeoutMs: 5000 },
      )
      .then(
        () => {},
        () => {},
      );

  private dequeue(task: PendingTask): void {
    const q = this.queues.get(task.schedulingKey);
    if (q === undefined) return;
    q.tasks.remove(task);
    this.pump(q);
  }

  private pump(q: SchedulingQueue): void {
    if (this.closed) return;
    // Fill the least busy leases first; pipeline only a backlog deeper than the leases we have
    // or asked for could take one task at a time.
    // A lease takes more than one task at a time (up to its window) when the backlog is deep, or
    // when its worker is answering right now (its last reply is fresh): a batch's tail then
    // stays pipelined, while tasks submitted together to idle workers are spread one each.
    const deep = q.tasks.length >= 2 * (q.leases.size + q.requesting + 1);
    const now = performance.now();
    for (const lease of q.leases) {
      lease.cap = deep || now - lease.lastReplyAt < FRESH_REPLY_MS ? lease.window : 1;
    }
    // Each task to the least loaded lease below its cap (ties: the first), until none has room.
    // (Not window level by window level up to the largest cap: with one lease capped at 1 and
    // another with 256 in flight, that walked ~256 empty levels on every submit and reply.)
    while (q.tasks.length > 0) {
      let best: Lease | undefined;
      let least = Number.POSITIVE_INFINITY;
      for (const lease of q.leases) {
        const inFlight = lease.inFlight.size;
        if (!lease.returned && inFlight < lease.cap && inFlight < least) {
          best = lease;
          least = inFlight;
        }
      }
      if (best === undefined) break;
      this.push(best, q.tasks.shift()!);
    }
    const wanted = Math.min(q.tasks.length, MAX_PENDING_LEASE_REQUESTS);
    while (q.requesting < wanted && q.retryTimer === undefined) this.requestLease(q);
    if (q.tasks.length === 0) {
      for (const lease of q.leases) {
        if (lease.inFlight.size !== 0) continue;
        // Idle from now; one timer per idle spell, not one set and cleared per task (a caller
        // submitting one task at a time makes the lease idle and busy again for every task).
        if (lease.idleSince < 0) lease.idleSince = now;
        if (lease.idleTimer === undefined) this.armIdleTimer(q, lease, IDLE_LEASE_MS);
      }
      if (q.leases.size === 0 && q.requesting === 0) this.queues.delete(q.key);
    }
  }

  /**
   * Return the lease once it has been idle for IDLE_LEASE_MS: when the timer fires, a lease that
   * was busy meanwhile and is idle again waits out the rest from when it went idle; a busy one is
   * left to the next pump that sees it idle.
   */
  private armIdleTimer(q: SchedulingQueue, lease: Lease, ms: number): void {
    lease.idleTimer = setTimeout(() => {
      lease.idleTimer = undefined;
      if (lease.returned || lease.idleSince < 0 || lease.inFlight.size !== 0 || q.tasks.length !== 0) return;
      const left = IDLE_LEASE_MS - (performance.now() - lease.idleSince);
      if (left > 0) {
        this.armIdleTimer(q, lease, left);
        return;
      }
      this.returnLease(q, lease, false);
      if (q.leases.size === 0 && q.requesting === 0 && q.tasks.length === 0) this.queues.delete(q.key);
    }, ms);
    lease.idleTimer.unref();
  }

  private requestLease(q: SchedulingQueue, raylet = this.ctx.raylet, forwarded = false): void {
    const representative = q.tasks.first();
    if (representative === undefined) return;
    q.requesting++;
    const spec = { ...plainSpec(representative.spec), args: [] };
    raylet
      .request(NodeManagerService.RequestWorkerLease, {
        task: spec,
        ownerAddress: this.ctx.ownerAddress,
        leaseId: randomBytes(8),
        grantOrReject: forwarded,
      })
      .then(
        (reply) => this.leaseReplied(q, reply, raylet),
        (err: Error) => {
          q.requesting--;
          if (this.closed) return;
          if (raylet !== this.ctx.raylet && !(err instanceof RemoteError)) {
            // Another node's raylet went away with the request (its node died): the task never
            // ran there, so this costs it no retry. Ask this node's raylet again shortly; it
            // places the class on a live node once the GCS has marked that one dead.
            this.retryLater(q, SPILLBACK_RETRY_MS);
            return;
          }
          // This node's raylet refused the request itself (bad spec) or went away: fail what waits.
          const info =
            err instanceof RemoteError
              ? err.info
              : { type: 0, message: `cannot lease a worker: ${err.message}` };
          for (const task of q.tasks.takeAll()) this.ctx.tasks.failed(task, info);
        },
      );
  }

  /**
   * As in Ray, a task with hard node affinity to a node the GCS marked dead fails (a dead node
   * never comes back) instead of waiting. Decided from the GCS's table, not the raylet's view,
   * so a node that just joined is never mistaken for a dead one. True when the GCS is asked
   * (then the queue fails, or `wait`s as for any infeasible class, once it answers).
   */
  private failIfPinnedToDeadNode(q: SchedulingQueue, wait: () => void): boolean {
    const affinity = q.tasks.first()?.spec.schedulingStrategy?.nodeAffinity;
    if (!affinity || affinity.soft || !affinity.nodeId?.length || !this.ctx.nodes) return false;
    const target = Buffer.from(affinity.nodeId).toString('hex');
    this.ctx.nodes().then(
      (nodes) => {
        const node = nodes.find((n) => n.nodeId && Buffer.from(n.nodeId).toString('hex') === target);
        if (this.closed) return;
        if (node?.state !== tray.v1.NodeInfo.State.DEAD) {
          wait();
          return;
        }
        for (const task of q.tasks.takeAll()) {
          this.ctx.tasks.failed(task, {
            type: ErrorType.NODE_DIED,
            message:
              `task ${task.name} must run on node ${target} (hard node affinity, soft: false), ` +
              `which is dead: ${node.deathReason || 'the GCS marked it dead'}. Use soft: true to let it run elsewhere`,
          });
        }
      },
      () => wait(),
    );
    return true;
  }

  private leaseReplied(q: SchedulingQueue, reply: tray.v1.WorkerLeaseReply, raylet: Connection): void {
    q.requesting--;
    if (this.closed) {
      if (reply.leaseId?.length) giveBack(raylet, reply.leaseId, reply.workerAddress?.workerId, false);
      return;
    }
    const spillback = reply.retryAtRayletAddress;
    if (spillback && (spillback.port || spillback.socketPath) && !reply.workerAddress?.workerId?.length) {
      // Another node can run the class: ask its raylet, which grants or refuses (no further hop).
      q.requesting++;
      this.ctx.remoteRaylet(spillback).then(
        (remote) => {
          q.requesting--;
          this.requestLease(q, remote, true);
        },
        () => {
          q.requesting--;
          if (this.closed) return;
          // That node went away after its raylet's view was taken: ask this node's raylet again
          // shortly (it learns of the death from the GCS and places the class elsewhere).
          this.retryLater(q, SPILLBACK_RETRY_MS);
        },
      );
      return;
    }
    if (reply.infeasible || reply.rejected || reply.canceled || !reply.workerAddress?.socketPath) {
      if (!reply.infeasible) {
        this.retryLater(q, INFEASIBLE_RETRY_MS);
        return;
      }
      const wait = () => {
        if (!q.warnedInfeasible) {
          q.warnedInfeasible = true;
          const name = q.tasks.first()?.name ?? 'a task';
          this.ctx.warn(
            `tray: warning: task ${name} cannot be scheduled: ${reply.failureMessage || 'no node has the resources it needs'}. ` +
              'It stays pending until a node with those resources joins the cluster.',
          );
        }
        this.retryLater(q, INFEASIBLE_RETRY_MS);
      };
      if (!this.failIfPinnedToDeadNode(q, wait)) wait();
      return;
    }
    const devices: Record<string, string> = {};
    for (const r of reply.resourceInstances) {
      if (r.name === 'GPU' && r.ids && r.ids.length > 0) devices.CUDA_VISIBLE_DEVICES = r.ids.join(',');
    }
    const address = reply.workerAddress;
    this.ctx.peers.get(address).then(
      (connection) => {
        const lease: Lease = {
          queue: q,
          raylet,
          leaseId: reply.leaseId,
          workerId: address.workerId ?? new Uint8Array(0),
          nodeId: address.nodeId ?? undefined,
          workerPid: reply.workerPid ?? 0,
          connection,
          inFlight: new Set(),
          window: INITIAL_TASKS_IN_FLIGHT,
          serviceMs: 0,
          lastEventAt: 0,
          cap: 1,
          lastReplyAt: Number.NEGATIVE_INFINITY,
          idleSince: -1,
          visibleDevices: devices,
          leaseFields: encodeLeaseFields(address.workerId ?? new Uint8Array(0), devices),
          returned: false,
        };
        q.leases.add(lease);
        lease.onClose = () => this.leaseLost(q, lease);
        connection.once('close', lease.onClose);
        this.pump(q);
      },
      () => {
        // The worker died between the grant and the connect: hand the lease back and retry.
        giveBack(raylet, reply.leaseId, address.workerId, true);
        this.pump(q);
      },
    );
  }

  /** Ask for leases again after `ms` (no new requests meanwhile), if tasks still wait. */
  private retryLater(q: SchedulingQueue, ms: number): void {
    if (q.retryTimer !== undefined || q.tasks.length === 0) return;
    q.retryTimer = setTimeout(() => {
      q.retryTimer = undefined;
      this.pump(q);
    }, ms);
  }

  private push(lease: Lease, task: PendingTask): void {
    lease.idleSince = -1;
    task.status = 'running';
    this.ctx.tasks.events?.pushed(task, lease);
    if (lease.inFlight.size === 0) lease.lastEventAt = performance.now();
    lease.inFlight.add(task);
    task.runningOn = lease;
    task.onCancel = this.cancelRunning;
    const payload =
      task.template !== undefined
        ? encodePushTask(task.spec, task.template, lease.leaseFields)
        : PUSH_TASK.encodeRequest({
            task: task.spec,
            intendedWorkerId: lease.workerId,
            visibleDevices: lease.visibleDevices,
          });
    lease.connection.requestCallback(PUSH_TASK, payload, this.pushReplied, task);
  }

  /** The reply to a push (or the error in its place), on the connection it was sent over. */
  private readonly pushReplied = (
    err: Error | null,
    reply: tray.v1.PushTaskReply | undefined,
    task: PendingTask,
    connection: Connection,
  ): void => {
    const lease = task.runningOn as Lease;
    // A lost lease already failed or requeued everything in flight (leaseLost); a retried task
    // may run on another lease by now, and the reply of its first push is then no news.
    if (lease.connection !== connection || !lease.inFlight.delete(task)) return;
    const q = lease.queue;
    if (err === null) {
      replied(lease);
      this.ctx.tasks.completed(task, reply!);
      if (reply!.workerExiting) this.leaseLost(q, lease);
    } else if (err instanceof RemoteError) {
      this.ctx.tasks.failed(task, err.info);
    } else {
      // The connection failed (its replies are settled before its 'close' event): the lease is
      // gone for every task on it, before this one is retried elsewhere.
      this.leaseLost(q, lease);
      this.ctx.tasks.workerDied(task, err.message, () => failureCause(lease));
    }
    this.pump(q);
  };

  private leaseLost(q: SchedulingQueue, lease: Lease): void {
    if (lease.returned) return;
    lease.returned = true;
    if (lease.onClose) lease.connection.off('close', lease.onClose);
    q.leases.delete(lease);
    giveBack(lease.raylet, lease.leaseId, lease.workerId, true);
    for (const task of lease.inFlight)
      this.ctx.tasks.workerDied(task, 'its connection closed', () => failureCause(lease));
    lease.inFlight.clear();
    this.pump(q);
  }

  private returnLease(q: SchedulingQueue, lease: Lease, disconnect: boolean): void {
    if (lease.returned) return;
    lease.returned = true;
    if (lease.idleTimer !== undefined) clearTimeout(lease.idleTimer);
    if (lease.onClose) lease.connection.off('close', lease.onClose);
    q.leases.delete(lease);
    giveBack(lease.raylet, lease.leaseId, lease.workerId, disconnect);
  }
}
