// The worker leases task submission holds (task-submitter.ts): a lease, the queue of its
// scheduling class, and how many tasks a lease's worker is sent before it answered (the
// pipelining window, paced by its replies).
import { type Connection, NodeManagerService, type tray } from '@tray/protocol';
import type { PendingTask } from './task-manager.js';
import type { TaskQueue } from './task-queue.js';

/**
 * Pipelining: with a deep backlog a worker is sent more tasks before it answered the first, so
 * it never idles waiting for the next one to travel, and tasks and replies travel many to a
 * write. The window is sized from how fast the worker's replies come back: enough tasks for
 * about PIPELINE_BUDGET_MS at that pace (the pace includes the round trip, so the worker's own
 * work queued is less), between 1 (slow tasks: no quick task waits long behind one) and
 * MAX_TASKS_IN_FLIGHT_PER_WORKER; a new lease starts at INITIAL_TASKS_IN_FLIGHT. With a short
 * queue each worker gets one task at a time, so a quick task never waits behind a slow one while
 * another worker could take it.
 */
export const INITIAL_TASKS_IN_FLIGHT = 4;
const MAX_TASKS_IN_FLIGHT_PER_WORKER = 256;
const PIPELINE_BUDGET_MS = 8;
/** A reply this recent means the worker is busy with quick tasks (pipelining a shallow queue is fine). */
export const FRESH_REPLY_MS = 1;

export interface Lease {
  queue: SchedulingQueue;
  /** The raylet that granted the lease (this node's, or another's after a spillback). */
  raylet: Connection;
  leaseId: Uint8Array;
  workerId: Uint8Array;
  /** The node its worker runs on. */
  nodeId: Uint8Array | undefined;
  /** Its worker's pid (task events' executor descriptor). */
  workerPid: number;
  connection: Connection;
  inFlight: Set<PendingTask>;
  /** Pipelining window (tasks in flight) when the backlog is deep. */
  window: number;
  /** This pump's window for the lease (its window, or 1: see pump). */
  cap: number;
  /** When its worker last replied (performance.now()). */
  lastReplyAt: number;
  /** Estimated milliseconds the worker spends per task (moving average of reply intervals). */
  serviceMs: number;
  /** When the worker last started on fresh work: its last reply, or a push to it while idle. */
  lastEventAt: number;
  visibleDevices: Record<string, string>;
  /** The PushTaskRequest fields of this lease, encoded once. */
  leaseFields: Uint8Array;
  returned: boolean;
  onClose?: () => void;
  /** When it last went idle (performance.now(); -1 while it has tasks in flight). */
  idleSince: number;
  /** Returns it once idle long enough (armed once per idle spell, not per task). */
  idleTimer?: NodeJS.Timeout;
}

export interface SchedulingQueue {
  key: string;
  tasks: TaskQueue;
  leases: Set<Lease>;
  requesting: number;
  warnedInfeasible: boolean;
  retryTimer: NodeJS.Timeout | undefined;
}

/** A reply came from the lease's worker: update its pace and its pipelining window. */
export function replied(lease: Lease): void {
  const now = performance.now();
  const interval = now - lease.lastEventAt;
  lease.lastEventAt = now;
  lease.lastReplyAt = now;
  lease.serviceMs = lease.serviceMs === 0 ? interval : lease.serviceMs * 0.75 + interval * 0.25;
  const fit = Math.floor(PIPELINE_BUDGET_MS / Math.max(lease.serviceMs, 0.001));
  lease.window = Math.max(1, Math.min(MAX_TASKS_IN_FLIGHT_PER_WORKER, fit));
}

/** How long a dead worker's raylet is given to say why it died before the task fails without it. */
const FAILURE_CAUSE_TIMEOUT_MS = 5_000;

/** What the lease's raylet knows of its worker's death (GetWorkerFailureCause). */
export async function failureCause(lease: Lease): Promise<tray.v1.IErrorInfo | null | undefined> {
  const reply = await lease.raylet.request(
    NodeManagerService.GetWorkerFailureCause,
    { workerId: lease.workerId },
    { timeoutMs: FAILURE_CAUSE_TIMEOUT_MS },
  );
  return reply.failureCause;
}

/** Give a lease back to the raylet that granted it (disconnect: its worker is not reused). */
export function giveBack(
  raylet: Connection,
  leaseId: Uint8Array,
  workerId: Uint8Array | null | undefined,
  disconnect: boolean,
): void {
  raylet
    .request(NodeManagerService.ReturnWorkerLease, {
      leaseId,
      workerId: workerId ?? undefined,
      disconnectWorker: disconnect,
    })
    .catch(() => {});
}
