// Task events (TaskInfoGcsService): the state changes workers report for `tray list tasks`,
// `tray timeline` and the dashboard, merged into one record per task attempt (the owner's and the
// executor's events of one attempt meet here). Kept in memory, at most `maxPerJob` attempts per
// job: when a job's table is full its oldest attempt is evicted and counted, so memory stays
// bounded however many tasks run. Not persisted (Ray's GCS does not persist them either).
import { checkId, IdBytes, invalidArgument, type tray } from '@tray/protocol';
import { bytesKey } from '../storage/storage.js';

/** A task's states in the order an attempt goes through them; the terminal ones share a rank. */
const STATE_RANK: Record<string, number> = {
  PENDING_ARGS_AVAIL: 0,
  PENDING_NODE_ASSIGNMENT: 1,
  SUBMITTED_TO_WORKER: 2,
  RUNNING: 3,
  FINISHED: 4,
  FAILED: 4,
};
const TASK_TYPES = new Set(['NORMAL_TASK', 'ACTOR_CREATION_TASK', 'ACTOR_TASK']);

const STATE_NAMES = Object.keys(STATE_RANK);

const NUM_STATES = STATE_NAMES.length;
/** A descriptor of a report, checked, with its job's key and its ids copied once. */
interface Info {
  jobKey: string;
  jobId: Uint8Array | undefined;
  owner: boolean;
  name: string;
  type: string;
  funcOrClassName: string;
  actorId: Uint8Array | undefined;
  parentTaskId: Uint8Array | undefined;
  requiredResources: Record<string, number> | undefined;
  workerId: Uint8Array | undefined;
  nodeId: Uint8Array | undefined;
  workerPid: number;
}

const copyId = (b: Uint8Array | null | undefined) => (b?.length ? b.slice() : undefined);

function checkedInfos(rows: tray.v1.ITaskEventRows): Info[] {
  return (rows.infos ?? []).map((info, i) => {
    checkId(info.jobId, IdBytes.job, `rows.infos[${i}].job_id`);
    checkId(info.actorId, IdBytes.actor, `rows.infos[${i}].actor_id`, true);
    checkId(info.parentTaskId, IdBytes.task, `rows.infos[${i}].parent_task_id`, true);
    checkId(info.nodeId, IdBytes.node, `rows.infos[${i}].node_id`, true);
    checkId(info.workerId, IdBytes.worker, `rows.infos[${i}].worker_id`, true);
    if (info.type && !TASK_TYPES.has(info.type))
      throw invalidArgument(`rows.infos[${i}].type is not a task type: '${info.type}'`);
    const resources = info.requiredResources ?? {};
    return {
      jobKey: bytesKey(info.jobId),
      jobId: copyId(info.jobId),
      owner: !info.workerId?.length,
      name: info.name ?? '',
      type: info.type ?? '',
      funcOrClassName: info.funcOrClassName ?? '',
      actorId: copyId(info.actorId),
      parentTaskId: copyId(info.parentTaskId),
      requiredResources: Object.keys(resources).length > 0 ? { ...resources } : undefined,
      workerId: copyId(info.workerId),
      nodeId: copyId(info.nodeId),
      workerPid: info.workerPid ?? 0,
    };
  });
}

/** Every length and index of `rows` checked: how many rows, and whether one per attempt. */
function checkRows(
  rows: tray.v1.ITaskEventRows,
  infos: number,
  nodes: number,
): { n: number; perAttempt: boolean } {
  const ids = rows.taskIds ?? new Uint8Array(0);
  const n = ids.length / IdBytes.task;
  if (!Number.isInteger(n))
    throw invalidArgument(`rows.task_ids must be ${IdBytes.task} bytes per row, got ${ids.length} bytes`);
  const perAttempt = (rows.stateTimesMs?.length ?? 0) > 0;
  const columns: Record<string, ArrayLike<number> | null | undefined> = perAttempt
    ? { attempts: rows.attempts, info: rows.info, node: rows.node }
    : {
        attempts: rows.attempts,
        states: rows.states,
        timestamps_ms: rows.timestampsMs,
        info: rows.info,
        node: rows.node,
      };
  if (rows.execInfo?.length) columns.exec_info = rows.execInfo;
  for (const [name, column] of Object.entries(columns)) {
    if ((column?.length ?? 0) !== n)
      throw invalidArgument(`rows.${name} must have one entry per row (${n}), got ${column?.length ?? 0}`);
  }
  if (perAttempt && rows.stateTimesMs!.length !== n * NUM_STATES)
    throw invalidArgument(
      `rows.state_times_ms must have ${NUM_STATES} entries per row (${n * NUM_STATES}), got ${rows.stateTimesMs!.length}`,
    );
  for (let i = 0; i < n; i++) {
    const info = rows.info![i]!;
    if (!(info >= 0 && info < infos))
      throw invalidArgument(`rows.info[${i}] is not an index of rows.infos: ${info}`);
    const exec = rows.execInfo?.length ? rows.execInfo[i]! : 0;
    if (!(exec >= 0 && exec <= infos))
      throw invalidArgument(`rows.exec_info[${i}] is not an index of rows.infos + 1: ${exec}`);
    if (!perAttempt) {
      const state = rows.states![i]!;
      if (!(state >= 0 && state < NUM_STATES))
        throw invalidArgument(`rows.states[${i}] is not a state (0 to 5): ${state}`);
    }
    const node = rows.node![i]!;
    if (!(node >= 0 && node <= nodes))
      throw invalidArgument(`rows.node[${i}] is not an index of rows.node_ids: ${node - 1}`);
    if (!(rows.attempts![i]! >= 0)) throw invalidArgument(`rows.attempts[${i}] must be >= 0`);
  }
  const errorRows = rows.errorRows ?? [];
  if (errorRows.length !== (rows.errors?.length ?? 0))
    throw invalidArgument('rows.error_rows and rows.errors must be as long');
  errorRows.forEach((row, k) => {
    if (!Number.isInteger(row) || row < 0 || row >= n)
      throw invalidArgument(`rows.error_rows[${k}] is not a row: ${row}`);
  });
  return { n, perAttempt };
}

/** A record of its own: ids copied (not views of the request's buffer, which they would keep). */
function newRecord(e: tray.v1.ITaskEvent, transitions: tray.v1.ITaskStateTransition[]): tray.v1.ITaskEvent {
  return {
    taskId: copyId(e.taskId),
    jobId: copyId(e.jobId),
    name: e.name ?? '',
    state: e.state,
    timestampMs: e.timestampMs,
    nodeId: copyId(e.nodeId),
    workerId: copyId(e.workerId),
    attemptNumber: e.attemptNumber ?? 0,
    error: e.error ?? undefined,
    actorId: copyId(e.actorId),
    type: e.type ?? '',
    funcOrClassName: e.funcOrClassName ?? '',
    parentTaskId: copyId(e.parentTaskId),
    workerPid: e.workerPid ?? 0,
    stateTransitions: transitions,
    requiredResources: e.requiredResources ?? undefined,
  };
}

/** What a descriptor says, into a record (the executor's where it ran; the owner's the rest). */
function takeInfo(record: tray.v1.ITaskEvent, info: Info): void {
  if (!info.owner) {
    record.workerId = info.workerId;
    if (info.nodeId) record.nodeId = info.nodeId;
    if (info.workerPid) record.workerPid = info.workerPid;
    return;
  }
  if (!record.name) record.name = info.name;
  if (!record.funcOrClassName) record.funcOrClassName = info.funcOrClassName;
  if (!record.type) record.type = info.type;
  if (!record.actorId) record.actorId = info.actorId;
  if (!record.parentTaskId) record.parentTaskId = info.parentTaskId;
  if (!record.requiredResources) record.requiredResources = info.requiredResources;
}

interface JobTasks {
  /** By task id + attempt, oldest first (a Map keeps insertion order). */
  attempts: Map<string, tray.v1.ITaskEvent>;
  /**
   * The keys in insertion order from `head` on (the next to evict). Not `attempts.keys().next()`:
   * a Map's deleted entries stay as holes until it is rehashed, so taking the first key after
   * many deletions walks them all (~15 µs an eviction at 10,000 attempts).
   */
  order: string[];
  head: number;
  evicted: number;
}

export class TaskEventBuffer {
  private readonly jobs = new Map<string, JobTasks>();
  /** Events workers said they dropped before reporting them. */
  private droppedAtWorkers = 0;

  constructor(readonly maxPerJob = 10_000) {
    if (!Number.isInteger(maxPerJob) || maxPerJob <= 0) {
      throw new RangeError(`maxTaskEventsPerJob must be a positive integer, got ${maxPerJob}`);
    }
  }

  add(request: tray.v1.AddTaskEventDataRequest): void {
    request.events.forEach((event, i) => {
      checkId(event.taskId, IdBytes.task, `events[${i}].task_id`);
      checkId(event.jobId, IdBytes.job, `events[${i}].job_id`);
      checkId(event.actorId, IdBytes.actor, `events[${i}].actor_id`, true);
      checkId(event.parentTaskId, IdBytes.task, `events[${i}].parent_task_id`, true);
      checkId(event.nodeId, IdBytes.node, `events[${i}].node_id`, true);
      checkId(event.workerId, IdBytes.worker, `events[${i}].worker_id`, true);
      if (STATE_RANK[event.state ?? ''] === undefined) {
        throw invalidArgument(
          `events[${i}].state must be one of ${Object.keys(STATE_RANK).join(', ')}, got '${event.state}'`,
        );
      }
      if (event.type && !TASK_TYPES.has(event.type)) {
        throw invalidArgument(
          `events[${i}].type must be one of ${[...TASK_TYPES].join(', ')}, got '${event.type}'`,
        );
      }
      if ((event.attemptNumber ?? 0) < 0) throw invalidArgument(`events[${i}].attempt_number must be >= 0`);
      for (const t of event.stateTransitions ?? []) {
        if (STATE_RANK[t.state ?? ''] === undefined) {
          throw invalidArgument(`events[${i}].state_transitions has an unknown state '${t.state}'`);
        }
      }
    });
    const dropped = Number(request.numDropped ?? 0);
    if (dropped < 0) throw invalidArgument(`num_dropped must be >= 0, got ${dropped}`);
    const rows = request.rows;
    const infos = rows ? checkedInfos(rows) : [];
    const nodeIds = rows?.nodeIds ?? [];
    nodeIds.forEach((id, i) => {
      checkId(id, IdBytes.node, `rows.node_ids[${i}]`);
    });
    const { n, perAttempt } = rows
      ? checkRows(rows, infos.length, nodeIds.length)
      : { n: 0, perAttempt: false };
    this.droppedAtWorkers += dropped;
    for (const event of request.events) this.merge(event);
    if (rows && n > 0) this.mergeRows(rows, n, perAttempt, infos, nodeIds.map(copyId));
  }

  /** Rows (checked) merged in place: one record per attempt, ids copied only into new records. */
  private mergeRows(
    rows: tray.v1.ITaskEventRows,
    n: number,
    perAttempt: boolean,
    infos: Info[],
    nodeIds: (Uint8Array | undefined)[],
  ): void {
    // One hex view of the ids; new records' ids are views of one copy of the column (a copy per
    // record allocates a buffer each).
    const ids = Buffer.from(rows.taskIds!.buffer, rows.taskIds!.byteOffset, rows.taskIds!.length);
    let copied: Uint8Array | undefined;
    const times = rows.stateTimesMs!;
    const execInfo = rows.execInfo?.length ? rows.execInfo : undefined;
    const errors = new Map<number, tray.v1.IErrorInfo>();
    (rows.errorRows ?? []).forEach((row, k) => {
      if (!errors.has(row)) errors.set(row, rows.errors![k]!);
    });
    for (let i = 0; i < n; i++) {
      const info = infos[rows.info![i]!]!;
      const attempt = rows.attempts![i]!;
      const from = i * IdBytes.task;
      const job = this.jobTasks(info.jobKey);
      const key = `${ids.toString('hex', from, from + IdBytes.task)}:${attempt}`;
      let record = job.attempts.get(key);
      if (record === undefined) {
        if (job.attempts.size >= this.maxPerJob) {
          evictOldest(job);
        }
        job.order.push(key);
        record = {
          taskId: (copied ??= Uint8Array.from(ids)).subarray(from, from + IdBytes.task),
          jobId: info.jobId,
          name: '',
          state: undefined,
          timestampMs: 0,
          nodeId: undefined,
          workerId: undefined,
          attemptNumber: attempt,
          error: undefined,
          actorId: undefined,
          type: '',
          funcOrClassName: '',
          parentTaskId: undefined,
          workerPid: 0,
          stateTransitions: [],
          requiredResources: undefined,
        };
        job.attempts.set(key, record);
      }
      if (perAttempt) {
        for (let s = 0; s < NUM_STATES; s++) {
          const t = times[i * NUM_STATES + s]!;
          if (t > 0) transition(record, s, t);
        }
      } else transition(record, rows.states![i]!, rows.timestampsMs![i]!);
      takeInfo(record, info);
      if (execInfo && execInfo[i]! > 0) takeInfo(record, infos[execInfo[i]! - 1]!);
      const node = rows.node![i]!;
      if (node > 0 && !record.nodeId) record.nodeId = nodeIds[node - 1];
      if (!record.error) {
        const error = errors.get(i);
        if (error) record.error = error;
      }
    }
  }

  private jobTasks(jobKey: string): JobTasks {
    let job = this.jobs.get(jobKey);
    if (!job) this.jobs.set(jobKey, (job = { attempts: new Map(), order: [], head: 0, evicted: 0 }));
    return job;
  }

  private merge(event: tray.v1.ITaskEvent): void {
    const job = this.jobTasks(bytesKey(event.jobId!));
    const key = `${bytesKey(event.taskId!)}:${event.attemptNumber ?? 0}`;
    // A worker sends the changes of one attempt together (state_transitions), or one change.
    const transitions = event.stateTransitions?.length
      ? event.stateTransitions.map((t) => ({ state: t.state ?? '', timestampMs: t.timestampMs ?? 0 }))
      : [{ state: event.state!, timestampMs: event.timestampMs ?? 0 }];
    const record = job.attempts.get(key);
    if (record === undefined) {
      if (job.attempts.size >= this.maxPerJob) {
        evictOldest(job);
      }
      job.order.push(key);
      job.attempts.set(key, newRecord(event, transitions));
      return;
    }
    for (const t of transitions) record.stateTransitions!.push(t);
    if (STATE_RANK[event.state!]! >= STATE_RANK[record.state!]!) {
      record.state = event.state;
      record.timestampMs = event.timestampMs;
    }
    // The executor knows where it ran; the first event to say something else says it for good.
    if (event.workerId?.length) {
      record.workerId = event.workerId;
      if (event.nodeId?.length) record.nodeId = event.nodeId;
      if (event.workerPid) record.workerPid = event.workerPid;
    } else if (!record.nodeId?.length && event.nodeId?.length) record.nodeId = event.nodeId;
    if (!record.error && event.error) record.error = event.error;
    if (!record.name) record.name = event.name;
    if (!record.funcOrClassName) record.funcOrClassName = event.funcOrClassName;
    if (!record.type) record.type = event.type;
    if (!record.actorId?.length) record.actorId = event.actorId;
    if (!record.parentTaskId?.length) record.parentTaskId = event.parentTaskId;
    if (Object.keys(record.requiredResources ?? {}).length === 0)
      record.requiredResources = event.requiredResources;
  }

  /**
   * Task attempts of one job (or all jobs when `jobId` is empty), oldest first, the newest `limit`
   * of them (0: all).
   */
  get(request: tray.v1.GetTaskEventsRequest): {
    events: tray.v1.ITaskEvent[];
    numDropped: number;
    numTotal: number;
  } {
    checkId(request.jobId, IdBytes.job, 'job_id', true);
    if (request.limit < 0) throw invalidArgument(`limit must be >= 0, got ${request.limit}`);
    const jobs =
      request.jobId.length > 0
        ? [this.jobs.get(bytesKey(request.jobId))].filter((j): j is JobTasks => j !== undefined)
        : [...this.jobs.values()];
    let events: tray.v1.ITaskEvent[] = [];
    let numDropped = this.droppedAtWorkers;
    for (const job of jobs) {
      events = events.concat([...job.attempts.values()]);
      numDropped += job.evicted;
    }
    const numTotal = events.length;
    if (request.limit > 0 && events.length > request.limit)
      events = events.slice(events.length - request.limit);
    return { events, numDropped, numTotal };
  }
}

/** State `s` (an index of STATE_NAMES) reached at `t`, into a record (the furthest state wins). */
function transition(record: tray.v1.ITaskEvent, s: number, t: number): void {
  const state = STATE_NAMES[s]!;
  record.stateTransitions!.push({ state, timestampMs: t });
  if (record.state === undefined || STATE_RANK[state]! >= STATE_RANK[record.state!]!) {
    record.state = state;
    record.timestampMs = t;
  }
}

/** Drop a job's oldest attempt (and, now and then, the keys already evicted from `order`). */
function evictOldest(job: JobTasks): void {
  job.attempts.delete(job.order[job.head++]!);
  job.evicted += 1;
  if (job.head > 1024 && job.head * 2 > job.order.length) {
    job.order = job.order.slice(job.head);
    job.head = 0;
  }
}
