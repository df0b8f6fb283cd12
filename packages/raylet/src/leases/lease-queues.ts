// The lease requests waiting on this node: one FIFO queue per scheduling class, and the order in
// which classes take turns (one grant per class per round, so a steady stream of task leases
// cannot starve an actor's restart of the CPU it needs). The lease manager decides whether the
// first request of a class can be granted; this keeps the queues and the turns.
import type { Connection, Message, tray } from '@tray/protocol';
import type { ResourceGrant } from '@tray/scheduler';
import type { WorkerProcess } from '../worker-pool.js';
import type { LeaseRequest } from './lease-request.js';

export type LeaseReply = Message<tray.v1.WorkerLeaseReply>;

export interface PendingLease {
  request: LeaseRequest;
  ownerConnection: Connection | undefined;
  resolve: (reply: LeaseReply) => void;
  reject: (err: Error) => void;
  /** performance.now() when it was queued (the scheduling-latency histogram starts here). */
  queuedAt: number;
}

export interface GrantedLease {
  readonly request: LeaseRequest;
  readonly worker: WorkerProcess;
  readonly ownerConnection: Connection | undefined;
  /** What the lease holds now (its CPU leaves while the worker is blocked). */
  grants: ResourceGrant[];
  blockedCpu: number;
  /** Order of grants on this node (larger: newer). */
  readonly grantedAt: number;
}

export class LeaseQueues {
  private readonly queues = new Map<string, PendingLease[]>();
  private readonly pendingById = new Map<string, PendingLease>();

  get size(): number {
    return this.pendingById.size;
  }

  /** The queued request with this lease id (hex). */
  get(leaseIdHex: string): PendingLease | undefined {
    return this.pendingById.get(leaseIdHex);
  }

  has(leaseIdHex: string): boolean {
    return this.pendingById.has(leaseIdHex);
  }

  /** A snapshot of every queued request (safe to drop from while iterating). */
  all(): PendingLease[] {
    return [...this.pendingById.values()];
  }

  add(pending: PendingLease): void {
    this.pendingById.set(pending.request.leaseId.toString('hex'), pending);
    let queue = this.queues.get(pending.request.classKey);
    if (queue === undefined) this.queues.set(pending.request.classKey, (queue = []));
    queue.push(pending);
  }

  /** Forget a request that was granted (it left its queue's head in `rounds`). */
  granted(pending: PendingLease): void {
    this.pendingById.delete(pending.request.leaseId.toString('hex'));
  }

  /** Take a request out wherever it is in its queue. */
  drop(pending: PendingLease): void {
    this.pendingById.delete(pending.request.leaseId.toString('hex'));
    const queue = this.queues.get(pending.request.classKey);
    if (queue === undefined) return;
    const i = queue.indexOf(pending);
    if (i >= 0) queue.splice(i, 1);
    if (queue.length === 0) this.queues.delete(pending.request.classKey);
  }

  /**
   * Offer each class's first request to `grantFirst` in turn, round after round, until no class
   * can be served: a class whose first request is refused waits for the next dispatch.
   */
  rounds(grantFirst: (pending: PendingLease) => boolean): void {
    /** Classes whose first request cannot be served now (no resources, or no idle worker). */
    const blocked = new Set<string>();
    let granted = true;
    while (granted) {
      granted = false;
      for (const [key, queue] of [...this.queues]) {
        if (blocked.has(key)) continue;
        const pending = queue[0];
        if (pending !== undefined && grantFirst(pending)) {
          queue.shift();
          granted = true;
          // Its next request waits for the other classes' turn.
          this.queues.delete(key);
          if (queue.length > 0) this.queues.set(key, queue);
        } else {
          blocked.add(key);
          if (queue.length === 0) this.queues.delete(key);
        }
      }
    }
  }
}
