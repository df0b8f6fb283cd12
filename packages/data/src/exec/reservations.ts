// Per-operator reservations, as Ray Data's ReservationOpResourceAllocator decides them: half of
// the execution's limits (CPUs, store budget; Ray's reservation ratio 0.5) is reserved, in equal
// shares, for the operators still running, each share at least what one of its tasks needs (one
// task's CPUs, one block of output); what is not reserved is shared, split equally. An operator
// may launch a task while the CPUs and memory it uses beyond its reservation fit its part of the
// shared rest. So a fast upstream operator cannot take everything a downstream one needs: the
// downstream's reservation is never lent out. The decisions only; not yet used by the executor.

/** Ray's default share of the limits that is reserved (DataContext.op_resource_reservation_ratio). */
export const RESERVATION_RATIO = 0.5;

export interface Limits {
  cpus: number;
  /** Store bytes (the execution's budget). */
  memory: number;
}

export interface OperatorUsage {
  /** CPUs one task of the operator needs. */
  taskCpus: number;
  /** Bytes one task is expected to produce (its first block, or the average so far). */
  blockBytes: number;
  /** CPUs of its tasks running now. */
  runningCpus: number;
  /** Bytes of its outputs made and not yet consumed downstream. */
  outputBytes: number;
}

export interface Allocation {
  reservedCpus: number;
  reservedMemory: number;
  /** Its equal part of what is not reserved. */
  sharedCpus: number;
  sharedMemory: number;
  /** Another task fits: its use plus one task's stays within reservation + its free shared part. */
  canLaunch: boolean;
}

export function allocate(limits: Limits, ops: readonly OperatorUsage[]): Allocation[] {
  if (ops.length === 0) return [];
  const n = ops.length;
  const reservedCpus = ops.map((op) => Math.max(op.taskCpus, (limits.cpus * RESERVATION_RATIO) / n));
  const reservedMemory = ops.map((op) => Math.max(op.blockBytes, (limits.memory * RESERVATION_RATIO) / n));
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  // Reservations above the limits (more operators than a half share fits) leave nothing shared.
  const sharedCpus = Math.max(0, limits.cpus - sum(reservedCpus)) / n;
  const sharedMemory = Math.max(0, limits.memory - sum(reservedMemory)) / n;
  return ops.map((op, i) => {
    const cpusAfter = op.runningCpus + op.taskCpus;
    const memoryAfter = op.outputBytes + op.blockBytes;
    const canLaunch =
      cpusAfter <= reservedCpus[i]! + sharedCpus + 1e-9 &&
      memoryAfter <= reservedMemory[i]! + sharedMemory + 1e-9;
    return {
      reservedCpus: reservedCpus[i]!,
      reservedMemory: reservedMemory[i]!,
      sharedCpus,
      sharedMemory,
      // Liveness: an operator with nothing running and nothing waiting downstream may always run one.
      canLaunch: canLaunch || (op.runningCpus === 0 && op.outputBytes === 0),
    };
  });
}
