// The memory monitor (Ray's OOM killer): every refresh interval (default 250 ms) it reads the
// node's memory (node-memory.ts); above the usage threshold (default 0.95) it kills the worker
// of one lease, so that the kernel's OOM killer never picks the raylet or a driver instead.
// Whom: the newest lease whose work can be retried (a task with maxRetries not 0, an actor with
// restarts), else the newest lease at all. Its owner asks GetWorkerFailureCause and retries the
// task within its OOM budget (core's oom-retries.ts, Ray's task_oom_retries), or fails it with
// OutOfMemoryError, worded with the memory seen. One kill at a time: the next waits until that worker is gone
// and memory is read again.
import type { GrantedLease } from './leases/lease-manager.js';
import type { NodeMemory } from './node-memory.js';

export interface MemoryMonitorOptions {
  /** Fraction of the node's memory above which a worker is killed, in (0, 1]. */
  threshold: number;
  /** How often memory is read, ms; 0 turns the monitor off. */
  refreshMs: number;
  read: () => NodeMemory;
  /** The leases granted now. */
  leases: () => Iterable<GrantedLease>;
  /** Kill the lease's worker; `message` says why (the task's error when it fails). */
  kill: (lease: GrantedLease, message: string) => void;
}

const GiB = 1024 ** 3;

/** Whether the lease's work is run again after its worker is killed. */
export function isRetriable(lease: GrantedLease): boolean {
  return lease.request.retriable;
}

/** The lease to kill: newest retriable first, else newest (undefined: none running). */
export function chooseVictim(leases: Iterable<GrantedLease>): GrantedLease | undefined {
  let best: GrantedLease | undefined;
  for (const lease of leases) {
    if (lease.worker.state === 'dead') continue;
    const rank = Number(isRetriable(lease)) - (best === undefined ? -1 : Number(isRetriable(best)));
    if (best === undefined || rank > 0 || (rank === 0 && lease.grantedAt > best.grantedAt)) {
      best = lease;
    }
  }
  return best;
}

export class MemoryMonitor {
  private timer: NodeJS.Timeout | undefined;
  private killed: GrantedLease | undefined;
  /** Workers killed so far (stats and tests). */
  kills = 0;

  constructor(private readonly o: MemoryMonitorOptions) {
    if (o.refreshMs > 0) {
      this.timer = setInterval(() => this.check(), o.refreshMs);
      this.timer.unref();
    }
  }

  /** One look at memory; kills at most one worker. */
  check(): void {
    const last = this.killed?.worker;
    if (last !== undefined && last.child.exitCode === null && last.child.signalCode === null) return;
    this.killed = undefined;
    let memory: NodeMemory;
    try {
      memory = this.o.read();
    } catch {
      return; // no /proc (not Linux): nothing to watch
    }
    const fraction = memory.usedBytes / memory.totalBytes;
    if (!(fraction > this.o.threshold)) return;
    const victim = chooseVictim(this.o.leases());
    if (victim === undefined) return;
    this.killed = victim;
    this.kills++;
    const task = victim.request.taskName || 'a task';
    this.o.kill(
      victim,
      `the memory monitor killed the worker (pid ${victim.worker.pid}) running ${victim.request.isActor ? 'actor' : 'task'} ` +
        `${task}: the node was using ${(memory.usedBytes / GiB).toFixed(2)} GiB of ${(memory.totalBytes / GiB).toFixed(2)} GiB ` +
        `(${fraction.toFixed(3)}, read from ${memory.source}), above the memory usage threshold ${Number(this.o.threshold.toFixed(3))}. ` +
        'Give the task less to hold at once, ask for more `memory` per task so fewer run together, or raise ' +
        'the threshold (memoryUsageThreshold, tray start --memory-usage-threshold, TRAY_MEMORY_USAGE_THRESHOLD)',
    );
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
