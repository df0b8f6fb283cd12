// Task events: each state change of a task this process owns (PENDING_ARGS_AVAIL,
// PENDING_NODE_ASSIGNMENT, SUBMITTED_TO_WORKER, and FINISHED/FAILED as the owner saw it) or runs
// (RUNNING, FINISHED, FAILED) is noted in a bounded buffer and sent to the GCS in one batch every
// TRAY_TASK_EVENTS_REPORT_INTERVAL_MS (Ray's task_events_report_interval_ms: 1000; 0 turns
// reporting off). A full buffer drops new attempts and counts their changes, a report is never
// awaited on the hot path, and the GCS is told how many were dropped.
//
// As Ray's worker-side TaskEventBuffer, the buffer holds ONE row per task attempt per report: a
// map from the task's spec (the object the owner or executor already holds, checked against its
// attempt number) to a row of columns (typed arrays: a timestamp per state, the indexes of the
// owner's and the executor's descriptors, the node it was sent to). Noting a change is a lookup
// and a field write or two; an attempt's id goes once into a preallocated column (no object; a
// spec or an id view kept until the report would keep its request's buffer and be promoted by the
// GC), and the report copies the columns and encodes the batch (TaskEventRows) at once.
// Descriptors are shared by the tasks of one remote function, parent and job (owner) or one job
// (executor).
import type { tray } from '@tray/protocol';

export type TaskState =
  | 'PENDING_ARGS_AVAIL'
  | 'PENDING_NODE_ASSIGNMENT'
  | 'SUBMITTED_TO_WORKER'
  | 'RUNNING'
  | 'FINISHED'
  | 'FAILED';

const STATES: TaskState[] = [
  'PENDING_ARGS_AVAIL',
  'PENDING_NODE_ASSIGNMENT',
  'SUBMITTED_TO_WORKER',
  'RUNNING',
  'FINISHED',
  'FAILED',
];
const NUM_STATES = STATES.length;
/** A state's slot in a row's timestamps (a plain object: cheaper than a Map on the hot path). */
const SLOT: Record<TaskState, number> = {
  PENDING_ARGS_AVAIL: 0,
  PENDING_NODE_ASSIGNMENT: 1,
  SUBMITTED_TO_WORKER: 2,
  RUNNING: 3,
  FINISHED: 4,
  FAILED: 5,
};

/** Where a batch goes (the GCS's AddTaskEventData). */
export type TaskEventSink = (rows: tray.v1.ITaskEventRows, numDropped: number) => Promise<void>;

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
  /** The row of a spec's current attempt; emptied at each report. */
  private byTask = new Map<tray.v1.ITaskSpec, number>();
  /** Row i's task id: ids[24i, 24i + 24). */
  private ids = new Uint8Array(0);
  /** The spec noted last and its row (the executor's lookup, and the owner's shortcut). */
  private lastSpec: tray.v1.ITaskSpec | undefined;
  private lastRow = -1;
  private attempts = new Int32Array(0);
  /** NUM_STATES timestamps per row (0: not reached). */
  private times = new Float64Array(0);
  /** Indexes into `infos` (-1: none yet). */
  private ownerInfos = new Int32Array(0);
  private execInfos = new Int32Array(0);
  private node = new Int32Array(0);
  /** This batch's descriptors (`infos`), and the owner's by remote function for reuse. */
  private infos: tray.v1.ITaskEvent[] = [];
  private byFunction = new Map<unknown, Descriptor>();
  private lastJob: Uint8Array | undefined;
  private lastJobIndex = -1;
  private nodeIds: Uint8Array[] = [];
  private lastNode: Uint8Array | undefined;
  private lastNodeIndex = -1;
  private errorRows: number[] = [];
  private errors: tray.v1.IErrorInfo[] = [];
  private dropped = 0;
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

  /** The owner saw `spec` reach `state` (`nodeId`: where it was sent). */
  owner(spec: tray.v1.ITaskSpec, state: TaskState, nodeId?: Uint8Array, error?: tray.v1.IErrorInfo): void {
    if (!this.enabled) return;
    const i = this.row(spec, state, error, true);
    if (i < 0) return;
    if (this.ownerInfos[i]! < 0) this.ownerInfos[i] = this.ownerInfo(spec);
    if (nodeId?.length) this.node[i] = this.nodeIndex(nodeId) + 1;
    // An attempt that ended is not looked up again: the spec is not held until the report.
    if (state === 'FINISHED' || state === 'FAILED') this.byTask.delete(spec);
  }

  /** This process (the executor) ran `spec` to `state`. */
  executor(spec: tray.v1.ITaskSpec, state: TaskState, error?: tray.v1.IErrorInfo): void {
    if (!this.enabled) return;
    const i = this.row(spec, state, error, false);
    if (i < 0) return;
    if (this.execInfos[i]! < 0) this.execInfos[i] = this.executorIndex(spec.jobId);
    if (state === 'FINISHED' || state === 'FAILED') this.lastSpec = undefined;
  }

  /**
   * The row of `spec`'s attempt with `state`'s time noted (-1: dropped). The owner's rows are
   * found by spec (a map); the executor runs a task from RUNNING to its end, so its rows are found
   * by the last spec it noted (a task run concurrently with others may take a second row, which
   * the GCS merges like any other). Neither holds a spec past the attempt's end: a spec decoded
   * from a request holds views of the request's buffer.
   */
  private row(
    spec: tray.v1.ITaskSpec,
    state: TaskState,
    error: tray.v1.IErrorInfo | undefined,
    owner: boolean,
  ): number {
    const attempt = spec.attemptNumber ?? 0;
    let i = spec === this.lastSpec ? this.lastRow : owner ? this.byTask.get(spec) : undefined;
    if (i === undefined || this.attempts[i] !== attempt) {
      if (this.n >= this.maxBuffered || !spec.taskId || spec.taskId.length !== TASK_ID_BYTES) {
        this.dropped++;
        return -1;
      }
      if (this.n === this.capacity) this.grow();
      i = this.n++;
      // 24 bytes into the preallocated column: no object, and nothing of the spec kept.
      this.ids.set(spec.taskId, i * TASK_ID_BYTES);
      this.attempts[i] = attempt;
      this.ownerInfos[i] = -1;
      this.execInfos[i] = -1;
      this.node[i] = 0;
      if (owner) this.byTask.set(spec, i);
    }
    this.lastSpec = spec;
    this.lastRow = i;
    this.changes++;
    const k = i * NUM_STATES + SLOT[state];
    // The first time an attempt reached a state is the one kept.
    if (this.times[k] === 0) this.times[k] = Date.now();
    if (error && (this.errorRows.length === 0 || this.errorRows[this.errorRows.length - 1] !== i)) {
      this.errorRows.push(i);
      this.errors.push({ type: error.type, message: error.message, errorClass: error.errorClass });
    }
    return i;
  }

  private grow(): void {
    const capacity = Math.min(this.maxBuffered, Math.max(FIRST_CAPACITY, this.capacity * 2));
    const ids = new Uint8Array(capacity * TASK_ID_BYTES);
    ids.set(this.ids);
    this.ids = ids;
    const attempts = new Int32Array(capacity);
    attempts.set(this.attempts);
    this.attempts = attempts;
    const times = new Float64Array(capacity * NUM_STATES);
    times.set(this.times);
    this.times = times;
    const ownerInfos = new Int32Array(capacity);
    ownerInfos.set(this.ownerInfos);
    this.ownerInfos = ownerInfos;
    const execInfos = new Int32Array(capacity);
    execInfos.set(this.execInfos);
    this.execInfos = execInfos;
    const node = new Int32Array(capacity);
    node.set(this.node);
    this.node = node;
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

  /** Send what is buffered (one report at a time; a failed one counts its changes as dropped). */
  flush(): Promise<void> {
    if (this.sending !== undefined || this.sink === undefined) return this.sending ?? Promise.resolve();
    if (this.n === 0 && this.dropped === 0) return Promise.resolve();
    const changes = this.changes;
    const rows = this.drain();
    const dropped = this.dropped;
    this.dropped = 0;
    this.sending = this.sink(rows, dropped)
      .catch(() => {
        this.dropped += changes + dropped;
      })
      .finally(() => {
        this.sending = undefined;
      });
    return this.sending;
  }

  /**
   * The buffered attempts as TaskEventRows (copies; one row per attempt: `info` the owner's
   * descriptor or else the executor's, `exec_info` the executor's + 1 when a row has both); the
   * buffer is emptied.
   */
  private drain(): tray.v1.ITaskEventRows {
    const n = this.n;
    const info = new Array<number>(n);
    const execInfo = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const owner = this.ownerInfos[i]!;
      const exec = this.execInfos[i]!;
      info[i] = owner >= 0 ? owner : exec;
      execInfo[i] = owner >= 0 && exec >= 0 ? exec + 1 : 0;
    }
    const rows: tray.v1.ITaskEventRows = {
      taskIds: this.ids.slice(0, n * TASK_ID_BYTES),
      attempts: Array.from(this.attempts.subarray(0, n)),
      stateTimesMs: Array.from(this.times.subarray(0, n * NUM_STATES)),
      info,
      execInfo,
      infos: this.infos,
      node: Array.from(this.node.subarray(0, n)),
      nodeIds: this.nodeIds,
      errorRows: this.errorRows,
      errors: this.errors,
    };
    this.times.fill(0, 0, n * NUM_STATES);
    this.byTask.clear();
    this.lastSpec = undefined;
    this.n = 0;
    this.changes = 0;
    this.infos = [];
    for (const d of this.byFunction.values()) d.index = -1;
    // A long-lived process submits from many parents: the table starts again now and then.
    if (this.byFunction.size > 1000) this.byFunction.clear();
    this.lastJob = undefined;
    this.nodeIds = [];
    this.lastNode = undefined;
    this.errorRows = [];
    this.errors = [];
    return rows;
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
