// Per-operator reservations, as Ray Data's ReservationOpResourceAllocator decides them. The
// execution's limits are the cluster's CPUs and the store budget (a fraction of the store).
// Half of them (Ray's reservation ratio 0.5) is reserved in equal shares for the task
// operators still running, each share at least what one of its tasks needs (its CPUs, one block
// of output) plus a part kept for its outputs only (half its memory share); an operator whose
// minimum no longer fits in what is left reserves nothing (then at most one task runs, by the
// liveness rule). The rest is shared: each operator's budget is what is left of its own
// reservation plus an equal part of what is left of the shared rest after every operator's use
// beyond its reservation (downstream operators take their part first and may borrow what one
// task needs). A task launches when one more task's CPUs and memory fit the budget; a running
// task's outputs are taken from its generator while they fit the budget plus what is left of the
// outputs' reservation. So a fast upstream operator cannot take the CPUs or store a downstream
// one needs, and a slow operator's queued blocks stop its own upstream, not everyone.

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
  /** Bytes one task is expected to add to the store (its average block so far). */
  blockBytes: number;
  /** CPUs of its tasks running now. */
  runningCpus: number;
  /** Bytes its running tasks hold or are making and the executor has not taken yet (estimated). */
  pendingBytes?: number;
  /** Bytes of its outputs taken and not yet let go of by the next operator's task or the consumer. */
  outputBytes: number;
  /**
   * Reservations apply (a task operator that has not finished). Other operators (actor pools,
   * all-to-all results, a finished operator's queued blocks) reserve nothing; their use comes
   * out of the shared rest. Default true.
   */
  eligible?: boolean;
}

export interface Allocation {
  /** Reserved for its tasks (the outputs' part not included). */
  reservedCpus: number;
  reservedMemory: number;
  /** Reserved for its taken outputs only. */
  reservedOutputs: number;
  /** Its minimum (one task) fitted when reserving; false: it reserved nothing. */
  reservedMin: boolean;
  /** What it may still use now: its reservation's rest plus its part of the shared rest. */
  budgetCpus: number;
  budgetMemory: number;
  /** Another task fits the budget (or the operator is idle: it may always run one). */
  canLaunch: boolean;
  /** Bytes of running tasks' outputs the executor may take now (generator backpressure). */
  maxOutputBytesToRead: number;
}

const EPSILON = 1e-9;

/**
 * The allocation of each operator, in the order given (upstream first: the next eligible
 * operator in the list is taken to be the one its outputs go to).
 */
export function allocate(limits: Limits, ops: readonly OperatorUsage[]): Allocation[] {
  const eligible = ops.map((op) => op.eligible !== false);
  const n = eligible.filter(Boolean).length;
  const out: Allocation[] = ops.map(() => ({
    reservedCpus: 0,
    reservedMemory: 0,
    reservedOutputs: 0,
    reservedMin: true,
    budgetCpus: Number.POSITIVE_INFINITY,
    budgetMemory: Number.POSITIVE_INFINITY,
    canLaunch: true,
    maxOutputBytesToRead: Number.POSITIVE_INFINITY,
  }));
  if (n === 0) return out;
  // Reserve: an equal share each, at least one task's needs plus the outputs' part.
  const shareCpus = (limits.cpus * RESERVATION_RATIO) / n;
  const shareMemory = (limits.memory * RESERVATION_RATIO) / n;
  let sharedCpus = limits.cpus;
  let sharedMemory = limits.memory;
  ops.forEach((op, i) => {
    if (!eligible[i]) return;
    const a = out[i]!;
    const outputs = Math.max(Math.floor(shareMemory / 2), 1);
    const cpus = Math.max(shareCpus, op.taskCpus);
    const memory = Math.max(shareMemory, op.blockBytes + outputs);
    if (cpus <= sharedCpus + EPSILON && memory <= sharedMemory + EPSILON) {
      a.reservedCpus = cpus;
      a.reservedMemory = memory - outputs;
      a.reservedOutputs = outputs;
      sharedCpus -= cpus;
      sharedMemory -= memory;
    } else {
      a.reservedMin = false;
      a.reservedOutputs = 1;
      sharedMemory -= 1;
    }
    sharedCpus = Math.max(0, sharedCpus);
    sharedMemory = Math.max(0, sharedMemory);
  });
  // What is left of each reservation; use beyond it comes out of the shared rest.
  const usedMemory = (op: OperatorUsage) => (op.pendingBytes ?? 0) + op.outputBytes;
  ops.forEach((op, i) => {
    const a = out[i]!;
    if (!eligible[i]) {
      sharedCpus -= op.runningCpus;
      sharedMemory -= usedMemory(op);
      return;
    }
    a.budgetCpus = Math.max(0, a.reservedCpus - op.runningCpus);
    a.budgetMemory = Math.max(0, a.reservedMemory - usedMemory(op));
    sharedCpus -= Math.max(0, op.runningCpus - a.reservedCpus);
    sharedMemory -= Math.max(0, usedMemory(op) - a.reservedMemory);
  });
  sharedCpus = Math.max(0, sharedCpus);
  sharedMemory = Math.max(0, sharedMemory);
  // The shared rest in equal parts, downstream first; one may borrow what one task lacks.
  const order = ops.map((_, i) => i).filter((i) => eligible[i]);
  for (let k = order.length - 1, left = order.length; k >= 0; k--, left--) {
    const i = order[k]!;
    const op = ops[i]!;
    const a = out[i]!;
    let cpus = sharedCpus / left;
    let memory = sharedMemory / left;
    const lackCpus = Math.max(0, op.taskCpus - (a.budgetCpus + cpus));
    const lackMemory = Math.max(0, op.blockBytes - (a.budgetMemory + memory));
    if (
      (lackCpus > 0 || lackMemory > 0) &&
      cpus + lackCpus <= sharedCpus + EPSILON &&
      memory + lackMemory <= sharedMemory + EPSILON
    ) {
      cpus += lackCpus;
      memory += lackMemory;
    }
    sharedCpus = Math.max(0, sharedCpus - cpus);
    sharedMemory = Math.max(0, sharedMemory - memory);
    a.budgetCpus += cpus;
    a.budgetMemory += memory;
    const fits = op.taskCpus <= a.budgetCpus + EPSILON && op.blockBytes <= a.budgetMemory + EPSILON;
    // Liveness: an operator with nothing running and nothing of its own in the store may run one.
    const idle = op.runningCpus === 0 && usedMemory(op) === 0;
    a.canLaunch = fits || idle;
  }
  // Generator backpressure: outputs may be taken while they fit the budget and the rest of the
  // outputs' reservation; at least a byte when the next operator could not reserve its minimum
  // (this one must finish its tasks to give their CPUs to it).
  order.forEach((i, k) => {
    const a = out[i]!;
    let outputsLeft = Math.max(0, a.reservedOutputs - ops[i]!.outputBytes);
    const next = order[k + 1];
    if (next !== undefined && !out[next]!.reservedMin) outputsLeft = Math.max(outputsLeft, 1);
    a.maxOutputBytesToRead = a.budgetMemory + outputsLeft;
  });
  return out;
}
