// Task events: each state change of a task this process owns (PENDING_ARGS_AVAIL,
// PENDING_NODE_ASSIGNMENT, SUBMITTED_TO_WORKER, and FINISHED/FAILED as the owner saw it) or runs
// (RUNNING, FINISHED, FAILED) is noted in a bounded buffer and sent to the GCS in one batch every
// TRAY_TASK_EVENTS_REPORT_INTERVAL_MS (Ray's task_events_report_interval_ms: 1000; 0 turns
// reporting off). A full buffer drops new attempts and counts their changes, a report is never
// awaited on the hot path, and the GCS is told how many were dropped.
//
// As Ray's worker-side TaskEventBuffer, the buffer holds ONE row per task attempt per report,
// written in place into the wire's row layout (TaskEventRows.attempt_rows, TaskEventRow in
// @tray/protocol): the attempt's id, its descriptors' indexes, where it was sent and a timestamp
// per state, in one ArrayBuffer with Int32 and Float64 views. A row is found from the spec (the
// object the owner or executor already holds; a map, checked against its attempt number), and
// noting a change is a lookup and a field write or two; no object is made per attempt, and a
// report is one copy of the rows' bytes (no array element per field to encode). Nothing of a spec
// is kept past its attempt's end: a spec decoded from a request holds views of its buffer.
// Descriptors are shared by the tasks of one remote function, parent and job (owner) or one job
// (executor). The GCS keeps at most so many attempts per job and says how many in its reply: a
// report then carries only the newest that many rows of a job (what the GCS would keep of it) and
// counts the older ones as dropped, so a driver running more tasks a second than the GCS keeps
// does not encode, send and have the GCS decode rows only to be passed over.
import { TaskEventRow as R, type tray } from '@tray/protocol';

export type TaskState =
  | 'PENDING_ARGS_AVAIL'
  | 'PENDING_NODE_ASSIGNMENT'
  | 'SUBMITTED_TO_WORKER'
  | 'RUNNING'
  | 'FINISHED'
  | 'FAILED';

/** A state's slot in a row's timestamps (a plain object: cheaper than a Map on the hot path). */
const SLOT: Record<TaskState, number> = {
  PENDING_ARGS_AVAIL: 0,
  PENDING_NODE_ASSIGNMENT: 1,
  SUBMITTED_TO_WORKER: 2,
  RUNNING: 3,
  FINISHED: 4,
  FAILED: 5,
};

/** A task the owner notes changes of: its spec, and where its row is (-1 at first). */
export interface OwnedTask {
  spec: tray.v1.ITaskSpec;
  eventsRow: number;
  /**
   * When the attempt was made (PENDING_ARGS_AVAIL), queued for a lease (PENDING_NODE_ASSIGNMENT)
   * and pushed to a worker (SUBMITTED_TO_WORKER), not yet written to a row (0: none): see `queued`.
   */
  argsAtMs?: number;
  queuedAtMs?: number;
  pushedAtMs?: number;
  /** The leased worker it was pushed to (its row's executor descriptor). */
  pushedTo?: LeasedWorker;
}

/** The worker a task was pushed to (a lease's). */
export interface LeasedWorker {
  workerId: Uint8Array;
  nodeId: Uint8Array | null | undefined;
  workerPid: number;
}

/** A task the executor runs now, and since when (ms). */
export interface RunningTask {
  spec: tray.v1.ITaskSpec;
  sinceMs: number;
}

/**
 * Now, in ms. Date.now() is a runtime call (~90 ns, more than the rest of noting a change); the
 * changes of one burst (a loop of submissions, the replies handled in one turn) share a reading,
 * at most CLOCK_REUSE of them, and the next microtask reads the clock afresh. The reset is a
 * reaction to a settled promise, not queueMicrotask(): Node's queueMicrotask makes an
 * AsyncResource and a bound function per call (~100-200 ns more), and a worker running a task per
 * turn queues one per task.
 */
const CLOCK_REUSE = 32;
let clockMs = 0;
let clockLeft = 0;
let clockResetQueued = false;
const resolved = Promise.resolve();
const resetClock = () => {
  clockLeft = 0;
  clockResetQueued = false;
};
export function nowMs(): number {
  if (clockLeft-- > 0) return clockMs;
  clockMs = Date.now();
  clockLeft = CLOCK_REUSE - 1;
  if (!clockResetQueued) {
    clockResetQueued = true;
    void resolved.then(resetClock);
  }
  return clockMs;
}

/**
 * Where a batch goes (the GCS's AddTaskEventData); resolves with how many attempts of a job the
 * GCS keeps (its reply's max_attempts_per_job; anything but a positive whole number: not said).
 */
export type TaskEventSink = (rows: tray.v1.ITaskEventRows, numDropped: number) => Promise<unknown>;

const TYPES = ['NORMAL_TASK', 'ACTOR_CREATION_TASK', 'ACTOR_TASK'];
/** Ray's task_events_max_num_task_events_in_buffer (per worker). */
const DEFAULT_MAX_BUFFERED = 100_000;
const DEFAULT_INTERVAL_MS = 1000;
const TASK_ID_BYTES = 24;
const FIRST_CAPACITY = 1024;

/** TRAY_TASK_EVENTS_REPORT_INTERVAL_MS; a bad value throws a RangeError naming the variable. */
export function reportIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TRAY_TASK_EVENTS_REPORT_INTERVAL_MS;
  if (raw === undefined || raw.trim() === '') return DEFAULT_INTERVAL_MS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `TRAY_TASK_EVENTS_REPORT_INTERVAL_MS must be a whole number of milliseconds ≥ 0 (0 turns task events off), got '${raw}'`,
    );
  }
  return value;
}

/** The state a task ended in, from the executor's reply (an error in a return: FAILED). */
export function endState(reply: {
  returnObjects?: ({ error?: tray.v1.IErrorInfo | null } | null)[] | null;
}): { state: TaskState; error: tray.v1.IErrorInfo | undefined } {
  const error = reply.returnObjects?.[0]?.error ?? undefined;
  return { state: error ? 'FAILED' : 'FINISHED', error };
}

interface Descriptor {
  info: tray.v1.ITaskEvent;
  index: number;
  name: string | null | undefined;
  type: number;
  jobId: Uint8Array | null | undefined;
  actorId: Uint8Array | null | undefined;
  parent: Uint8Array | null | undefined;
  resources: Record<string, number> | null | undefined;
}

export class TaskEvents {
  readonly enabled: boolean;
  /** Rows (task attempts) in this batch. */
  private n = 0;
  private capacity = 0;
  /** Changes noted in this batch (what a failed report counts as dropped). */
  private changes = 0;
  /** Rows made before this batch (an owned task's `eventsRow` minus this: its row here). */
  private first = 0;
  /** The rows (R.bytes each), and Int32 and Float64 views of the same memory. */
  private bytes = new Uint8Array(0);
  private ints = new Int32Array(0);
  private times = new Float64Array(0);
  /** The spec noted last and its row (the executor's lookup). */
  private lastSpec: tray.v1.ITaskSpec | undefined;
  private lastRow = -1;
  /** This batch's descriptors (`infos`), and the owner's by remote function for reuse. */
  private infos: tray.v1.ITaskEvent[] = [];
  private byFunction = new Map<unknown, Descriptor>();
  private lastJob: Uint8Array | undefined;
  private lastJobIndex = -1;
  private nodeIds: Uint8Array[] = [];
  private lastNode: Uint8Array | undefined;
  private lastNodeIndex = -1;
  private lastWorker: LeasedWorker | undefined;
  private lastWorkerIndex = -1;
  /** The executor's tasks running now (noted RUNNING at each report: see whileRunning). */
  private running: (() => RunningTask | undefined) | undefined;
  private pending: (() => void) | undefined;
  private errorRows: number[] = [];
  private errors: tray.v1.IErrorInfo[] = [];
  private dropped = 0;
  /** Attempts of a job the GCS keeps, as its last reply said (0: not known yet). */
  private keepPerJob = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private sink: TaskEventSink | undefined;

  constructor(
    private readonly self: { workerId: Uint8Array; nodeId: Uint8Array },
    readonly intervalMs = reportIntervalMs(),
    /** Task attempts per batch (Ray's task_events_max_num_task_events_in_buffer). */
    private readonly maxBuffered = DEFAULT_MAX_BUFFERED,
  ) {
    this.enabled = intervalMs > 0;
  }

  /** Start reporting to `sink` (the process's GCS client). */
  reportTo(sink: TaskEventSink): void {
    if (!this.enabled) return;
    this.sink = sink;
    this.timer ??= setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /**
   * The owner saw its task reach `state` (`nodeId`: where it was sent; `worker`: the leased worker
   * it was pushed to, which becomes the row's executor descriptor).
   */
  owner(
    task: OwnedTask,
    state: TaskState,
    nodeId?: Uint8Array,
    error?: tray.v1.IErrorInfo,
    worker?: LeasedWorker,
  ): void {
    if (!this.enabled) return;
    const i = this.ownerRow(task);
    if (i < 0) return;
    if (task.argsAtMs || task.queuedAtMs || task.pushedAtMs) this.settled(task, i);
    this.reached(i, state, error);
    this.described(task.spec, i, nodeId, worker, state);
  }

  /**
   * The owner queued its task for a lease (PENDING_NODE_ASSIGNMENT). Only noted on the task: a
   * normal task's row is written once, when it ends (`ran`), with every time it reached; one not
   * ended by a report is written then (`settle`, for each pending task).
   */
  queued(task: OwnedTask): void {
    if (this.enabled && !task.queuedAtMs) task.queuedAtMs = nowMs();
  }

  /** The owner made its task, which waits for its arguments (PENDING_ARGS_AVAIL), as `queued`. */
  made(task: OwnedTask): void {
    if (this.enabled && !task.argsAtMs) task.argsAtMs = nowMs();
  }

  /** The owner pushed its task to `worker`'s (SUBMITTED_TO_WORKER), noted on the task as `queued`. */
  pushed(task: OwnedTask, worker: LeasedWorker): void {
    if (!this.enabled) return;
    if (!task.pushedAtMs) task.pushedAtMs = nowMs();
    task.pushedTo = worker;
  }

  /** The times noted on the task (`queued`, `pushed`) into its attempt's row, and off the task. */
  settle(task: OwnedTask): void {
    if (!this.enabled || !(task.argsAtMs || task.queuedAtMs || task.pushedAtMs)) return;
    const i = this.ownerRow(task);
    if (i >= 0) this.settled(task, i);
    task.argsAtMs = task.queuedAtMs = task.pushedAtMs = 0;
  }

  private settled(task: OwnedTask, i: number): void {
    const b = i * R.int32s;
    if (this.ints[b + R.info]! < 0) this.ints[b + R.info] = this.ownerInfo(task.spec);
    const t = i * R.float64s + R.times;
    const times = this.times;
    const args = task.argsAtMs;
    if (args && (times[t] === 0 || args < times[t]!)) times[t] = args;
    const queued = task.queuedAtMs;
    if (queued && (times[t + 1] === 0 || queued < times[t + 1]!)) times[t + 1] = queued;
    const pushed = task.pushedAtMs;
    if (pushed) {
      if (times[t + 2] === 0 || pushed < times[t + 2]!) times[t + 2] = pushed;
      const worker = task.pushedTo;
      if (worker !== undefined) {
        if (worker.nodeId?.length) this.ints[b + R.node] = this.nodeIndex(worker.nodeId) + 1;
        this.ints[b + R.execInfo] = this.workerIndex(task.spec.jobId, worker);
      }
    }
    this.changes += (args ? 1 : 0) + (queued ? 1 : 0) + (pushed ? 1 : 0);
    task.argsAtMs = task.queuedAtMs = task.pushedAtMs = 0;
  }

  /**
   * The owner's task ended as its executor's reply says: RUNNING at `startedMs` and FINISHED (or
   * FAILED with `error`) at `endedMs`, the executor's clock (0: the reply had no times, as an actor
   * call's: the end is now and RUNNING is the executor's own report).
   */
  ran(task: OwnedTask, startedMs: number, endedMs: number, error?: tray.v1.IErrorInfo): void {
    if (!this.enabled) return;
    const i = this.ownerRow(task);
    if (i < 0) {
      task.argsAtMs = task.queuedAtMs = task.pushedAtMs = 0;
      return;
    }
    if (task.argsAtMs || task.queuedAtMs || task.pushedAtMs) this.settled(task, i);
    if (startedMs > 0) this.reached(i, 'RUNNING', undefined, startedMs);
    this.reached(i, error ? 'FAILED' : 'FINISHED', error, endedMs > 0 ? endedMs : undefined);
    this.described(task.spec, i, undefined, undefined, 'FINISHED');
  }

  /** The row of the owner's task's current attempt, made if it has none in this batch (-1: dropped). */
  private ownerRow(task: OwnedTask): number {
    const spec = task.spec;
    // The task holds its row as a count of rows ever made: in this batch if at least `first`.
    let i = task.eventsRow - this.first;
    if (i < 0 || this.ints[i * R.int32s + R.attempt] !== (spec.attemptNumber ?? 0)) {
      i = this.newRow(spec);
      if (i >= 0) task.eventsRow = this.first + i;
    }
    return i;
  }

  private described(
    spec: tray.v1.ITaskSpec,
    i: number,
    nodeId: Uint8Array | undefined,
    worker: LeasedWorker | undefined,
    state: TaskState,
  ): void {
    const b = i * R.int32s;
    // While buffered, the info slot holds the owner's descriptor and exec_info the executor's
    // (-1: none yet); drain() turns them into the wire's meaning.
    if (this.ints[b + R.info]! < 0) this.ints[b + R.info] = this.ownerInfo(spec);
    if (nodeId?.length) this.ints[b + R.node] = this.nodeIndex(nodeId) + 1;
    if (worker !== undefined) this.ints[b + R.execInfo] = this.workerIndex(spec.jobId, worker);
    // A task this process also runs (the executor's lookup finds the owner's row).
    this.lastSpec = state === 'FINISHED' || state === 'FAILED' ? undefined : spec;
    this.lastRow = i;
  }

  /**
   * This process (the executor) ran `spec` to `state`. It runs a task from RUNNING to its end, so
   * its row is the last spec's (a task run concurrently with others may take a second row, which
   * the GCS merges like any other); the spec is not kept past its end (a spec decoded from a
   * request holds views of the request's buffer).
   */
  executor(spec: tray.v1.ITaskSpec, state: TaskState, error?: tray.v1.IErrorInfo, atMs?: number): void {
    if (!this.enabled) return;
    let i = this.lastRow;
    if (spec !== this.lastSpec || this.ints[i * R.int32s + R.attempt] !== (spec.attemptNumber ?? 0)) {
      i = this.newRow(spec);
      if (i < 0) return;
      this.lastSpec = spec;
      this.lastRow = i;
    }
    this.reached(i, state, error, atMs);
    const k = i * R.int32s + R.execInfo;
    if (this.ints[k]! < 0) this.ints[k] = this.executorIndex(spec.jobId);
    if (state === 'FINISHED' || state === 'FAILED') this.lastSpec = undefined;
  }

  /** A new row for `spec`'s attempt (-1: dropped, the buffer is full). */
  private newRow(spec: tray.v1.ITaskSpec): number {
    const id = spec.taskId;
    if (this.n >= this.maxBuffered || !id || id.length !== TASK_ID_BYTES) {
      this.dropped++;
      return -1;
    }
    if (this.n === this.capacity) this.grow();
    const i = this.n++;
    // 24 bytes into the row: no object, and nothing of the spec kept. (Plain loops and stores:
    // TypedArray set() and fill() are calls that cost more than these few writes.)
    const bytes = this.bytes;
    for (let k = 0, at = i * R.bytes + R.taskId; k < TASK_ID_BYTES; k++) bytes[at + k] = id[k]!;
    const b = i * R.int32s;
    const ints = this.ints;
    ints[b + R.attempt] = spec.attemptNumber ?? 0;
    ints[b + R.info] = -1;
    ints[b + R.execInfo] = -1;
    ints[b + R.node] = 0;
    const t = i * R.float64s + R.times;
    const times = this.times;
    times[t] = times[t + 1] = times[t + 2] = times[t + 3] = times[t + 4] = times[t + 5] = 0;
    return i;
  }

  /** Row `i` reached `state` now (the first time an attempt reached a state is the one kept). */
  private reached(i: number, state: TaskState, error: tray.v1.IErrorInfo | undefined, atMs?: number): void {
    this.changes++;
    const k = i * R.float64s + R.times + SLOT[state];
    if (this.times[k] === 0) this.times[k] = atMs ?? nowMs();
    if (error && (this.errorRows.length === 0 || this.errorRows[this.errorRows.length - 1] !== i)) {
      this.errorRows.push(i);
      this.errors.push({ type: error.type, message: error.message, errorClass: error.errorClass });
    }
  }

  private grow(): void {
    const capacity = Math.min(this.maxBuffered, Math.max(FIRST_CAPACITY, this.capacity * 2));
    const bytes = new Uint8Array(capacity * R.bytes);
    bytes.set(this.bytes);
    this.bytes = bytes;
    this.ints = new Int32Array(bytes.buffer);
    this.times = new Float64Array(bytes.buffer);
    this.capacity = capacity;
  }

  /** The descriptor of an owner's task: shared by the tasks of one function, parent and job. */
  private ownerInfo(spec: tray.v1.ITaskSpec): number {
    const key = spec.function ?? spec.name;
    const actorId = spec.actorId?.length ? spec.actorId : spec.actorCreation?.actorId;
    const resources = spec.requiredResources?.quantities;
    const d = this.byFunction.get(key);
    if (
      d !== undefined &&
      d.name === spec.name &&
      d.type === (spec.type ?? 0) &&
      d.jobId === spec.jobId &&
      d.actorId === actorId &&
      d.parent === spec.parentTaskId &&
      d.resources === resources
    ) {
      if (d.index < 0) {
        d.index = this.infos.length;
        this.infos.push(d.info);
      }
      return d.index;
    }
    const fn = spec.function?.name ?? '';
    const info: tray.v1.ITaskEvent = {
      jobId: spec.jobId,
      name: spec.name || fn,
      type: TYPES[spec.type ?? 0] ?? 'NORMAL_TASK',
      // Actor calls' descriptors are named Class.method already.
      funcOrClassName: fn || spec.name || '',
      requiredResources: { ...(resources ?? {}) },
    };
    if (actorId?.length) info.actorId = actorId;
    if (spec.parentTaskId?.length) info.parentTaskId = spec.parentTaskId;
    const index = this.infos.length;
    this.infos.push(info);
    this.byFunction.set(key, {
      info,
      index,
      name: spec.name,
      type: spec.type ?? 0,
      jobId: spec.jobId,
      actorId,
      parent: spec.parentTaskId,
      resources,
    });
    return index;
  }

  /** The executor's descriptor for a job (its worker, node and pid). */
  private executorIndex(jobId: Uint8Array | null | undefined): number {
    const last = this.lastJob;
    if (last !== undefined && jobId && sameBytes(last, jobId)) return this.lastJobIndex;
    let index = this.infos.findIndex((d) => d.workerId !== undefined && sameBytes(d.jobId, jobId));
    if (index < 0) {
      index = this.infos.length;
      this.infos.push({
        jobId: jobId?.slice(),
        workerId: this.self.workerId,
        nodeId: this.self.nodeId,
        workerPid: process.pid,
      });
    }
    if (jobId) {
      this.lastJob = jobId;
      this.lastJobIndex = index;
    }
    return index;
  }

  /** The descriptor of a leased worker the owner pushed to (as the executor's own would be). */
  private workerIndex(jobId: Uint8Array | null | undefined, worker: LeasedWorker): number {
    if (worker === this.lastWorker) return this.lastWorkerIndex;
    let index = this.infos.findIndex(
      (d) => d.workerId !== undefined && sameBytes(d.workerId, worker.workerId) && sameBytes(d.jobId, jobId),
    );
    if (index < 0) {
      index = this.infos.length;
      this.infos.push({
        jobId: jobId?.slice(),
        workerId: worker.workerId,
        nodeId: worker.nodeId ?? undefined,
        workerPid: worker.workerPid,
      });
    }
    this.lastWorker = worker;
    this.lastWorkerIndex = index;
    return index;
  }

  private nodeIndex(nodeId: Uint8Array): number {
    if (nodeId === this.lastNode) return this.lastNodeIndex;
    let index = this.nodeIds.findIndex((n) => Buffer.compare(n, nodeId) === 0);
    if (index < 0) {
      index = this.nodeIds.length;
      this.nodeIds.push(nodeId);
    }
    this.lastNode = nodeId;
    this.lastNodeIndex = index;
    return index;
  }

  /**
   * The executor's running task, asked at each report: a task pushed by its owner is recorded by
   * the owner alone (its times ride on the reply), so one that runs across a report is noted
   * RUNNING here, for `tray list tasks` to show it running before it ends.
   */
  whileRunning(probe: () => RunningTask | undefined): void {
    this.running = probe;
  }

  /**
   * Called at each report before the rows are sent: `settle` each owned task still pending, so
   * a task queued or running across a report is listed in the state it reached.
   */
  beforeReport(settlePending: () => void): void {
    this.pending = settlePending;
  }

  /** Send what is buffered (one report at a time; a failed one counts its changes as dropped). */
  flush(): Promise<void> {
    if (this.sending !== undefined || this.sink === undefined) return this.sending ?? Promise.resolve();
    const running = this.running?.();
    if (running !== undefined) this.executor(running.spec, 'RUNNING', undefined, running.sinceMs);
    this.pending?.();
    if (this.n === 0 && this.dropped === 0) return Promise.resolve();
    const changes = this.changes;
    const droppedBefore = this.dropped;
    // drain() counts the rows the GCS would not keep (a failed report counts them as `changes`).
    const rows = this.drain();
    const dropped = this.dropped;
    this.dropped = 0;
    this.sending = this.sink(rows, dropped)
      .then((keep) => {
        if (typeof keep === 'number' && Number.isInteger(keep) && keep > 0) this.keepPerJob = keep;
      })
      .catch(() => {
        this.dropped += changes + droppedBefore;
      })
      .finally(() => {
        this.sending = undefined;
      });
    return this.sending;
  }

  /**
   * The buffered attempts as TaskEventRows (a copy of the rows; `info` the owner's descriptor or
   * else the executor's, `exec_info` the executor's + 1 when a row has both); the buffer is emptied.
   */
  private drain(): tray.v1.ITaskEventRows {
    const n = this.n;
    const ints = this.ints;
    for (let b = 0; b < n * R.int32s; b += R.int32s) {
      const owner = ints[b + R.info]!;
      const exec = ints[b + R.execInfo]!;
      ints[b + R.info] = owner >= 0 ? owner : exec;
      ints[b + R.execInfo] = owner >= 0 && exec >= 0 ? exec + 1 : 0;
    }
    const keep = this.keepPerJob;
    const rows: tray.v1.ITaskEventRows =
      keep > 0 && n > keep
        ? this.newest(n, keep)
        : {
            attemptRows: this.bytes.slice(0, n * R.bytes),
            infos: this.infos,
            nodeIds: this.nodeIds,
            errorRows: this.errorRows,
            errors: this.errors,
          };
    this.first += n;
    this.lastSpec = undefined;
    this.n = 0;
    this.changes = 0;
    this.infos = [];
    for (const d of this.byFunction.values()) d.index = -1;
    // A long-lived process submits from many parents: the table starts again now and then.
    if (this.byFunction.size > 1000) this.byFunction.clear();
    this.lastJob = undefined;
    this.lastWorker = undefined;
    this.nodeIds = [];
    this.lastNode = undefined;
    this.errorRows = [];
    this.errors = [];
    return rows;
  }

  /**
   * The `n` rows (already in the wire's meaning) as TaskEventRows with only the newest `keep` of
   * each job, as the GCS would merge them; the older ones are counted as dropped attempts.
   */
  private newest(n: number, keep: number): tray.v1.ITaskEventRows {
    const ints = this.ints;
    const infos = this.infos;
    // Each descriptor's job, as an index into `jobs` (a process reports for one job, nearly always).
    const jobs: (Uint8Array | null | undefined)[] = [];
    const jobOf = infos.map((d) => {
      let j = jobs.findIndex((id) => sameBytes(id, d.jobId));
      if (j < 0) j = jobs.push(d.jobId) - 1;
      return j;
    });
    let attemptRows: Uint8Array;
    let errorRows: number[] = [];
    const errors: tray.v1.IErrorInfo[] = [];
    if (jobs.length === 1) {
      const from = n - keep;
      this.dropped += from;
      attemptRows = this.bytes.slice(from * R.bytes, n * R.bytes);
      this.errorRows.forEach((row, k) => {
        if (row < from) return;
        errorRows.push(row - from);
        errors.push(this.errors[k]!);
      });
    } else {
      const count = new Array<number>(jobs.length).fill(0);
      for (let i = 0; i < n; i++) count[jobOf[ints[i * R.int32s + R.info]!]!]!++;
      // Rows of a job still to pass over (its oldest), then each row's place in the report (-1: not sent).
      const skip = count.map((c) => Math.max(0, c - keep));
      const at = new Int32Array(n);
      let sent = 0;
      for (let i = 0; i < n; i++) {
        const j = jobOf[ints[i * R.int32s + R.info]!]!;
        if (skip[j]! > 0) {
          skip[j]!--;
          at[i] = -1;
        } else at[i] = sent++;
      }
      this.dropped += n - sent;
      attemptRows = new Uint8Array(sent * R.bytes);
      for (let i = 0; i < n; i++) {
        if (at[i]! >= 0)
          attemptRows.set(this.bytes.subarray(i * R.bytes, (i + 1) * R.bytes), at[i]! * R.bytes);
      }
      errorRows = [];
      this.errorRows.forEach((row, k) => {
        if (at[row]! < 0) return;
        errorRows.push(at[row]!);
        errors.push(this.errors[k]!);
      });
    }
    return { attemptRows, infos, nodeIds: this.nodeIds, errorRows, errors };
  }

  /** Stop the timer and send the last batch (waits at most `timeoutMs`). */
  async close(timeoutMs = 2000): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.sink === undefined) return;
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      (async () => {
        await this.sending;
        await this.flush();
      })(),
      new Promise<void>((resolve) => {
        timeout = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timeout);
    this.sink = undefined;
  }
}

function sameBytes(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
