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

/** TaskEventRows (columns) as one TaskEvent per row; every index and length is checked first. */
function eventsOfRows(rows: tray.v1.ITaskEventRows): tray.v1.ITaskEvent[] {
  const ids = rows.taskIds ?? new Uint8Array(0);
  const n = ids.length / IdBytes.task;
  const columns = {
    attempts: rows.attempts,
    states: rows.states,
    timestamps_ms: rows.timestampsMs,
    info: rows.info,
    node: rows.node,
  };
  if (!Number.isInteger(n))
    throw invalidArgument(`rows.task_ids must be ${IdBytes.task} bytes per row, got ${ids.length} bytes`);
  for (const [name, column] of Object.entries(columns)) {
    if ((column?.length ?? 0) !== n)
      throw invalidArgument(`rows.${name} must have one entry per row (${n}), got ${column?.length ?? 0}`);
  }
  const infos = rows.infos ?? [];
  const nodeIds = rows.nodeIds ?? [];
  infos.forEach((info, i) => {
    checkId(info.jobId, IdBytes.job, `rows.infos[${i}].job_id`);
    checkId(info.actorId, IdBytes.actor, `rows.infos[${i}].actor_id`, true);
    checkId(info.parentTaskId, IdBytes.task, `rows.infos[${i}].parent_task_id`, true);
    checkId(info.nodeId, IdBytes.node, `rows.infos[${i}].node_id`, true);
    checkId(info.workerId, IdBytes.worker, `rows.infos[${i}].worker_id`, true);
    if (info.type && !TASK_TYPES.has(info.type))
      throw invalidArgument(`rows.infos[${i}].type is not a task type: '${info.type}'`);
  });
  nodeIds.forEach((id, i) => {
    checkId(id, IdBytes.node, `rows.node_ids[${i}]`);
  });
  const errorRows = rows.errorRows ?? [];
  if (errorRows.length !== (rows.errors?.length ?? 0))
    throw invalidArgument('rows.error_rows and rows.errors must be as long');
  const errors = new Map<number, tray.v1.IErrorInfo>();
  errorRows.forEach((row, k) => {
    if (!Number.isInteger(row) || row < 0 || row >= n)
      throw invalidArgument(`rows.error_rows[${k}] is not a row: ${row}`);
    errors.set(row, rows.errors![k]!);
  });
  const out: tray.v1.ITaskEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const info = infos[rows.info![i]!];
    const state = STATE_NAMES[rows.states![i]!];
    if (info === undefined)
      throw invalidArgument(`rows.info[${i}] is not an index of rows.infos: ${rows.info![i]}`);
    if (state === undefined)
      throw invalidArgument(`rows.states[${i}] is not a state (0 to 5): ${rows.states![i]}`);
    const node = rows.node![i]! - 1;
    if (node >= nodeIds.length)
      throw invalidArgument(`rows.node[${i}] is not an index of rows.node_ids: ${node}`);
    const attempt = rows.attempts![i]!;
    if (attempt < 0) throw invalidArgument(`rows.attempts[${i}] must be >= 0`);
    // Plain objects of one shape (a spread of a decoded message is many times slower).
    out[i] = {
      taskId: ids.subarray(i * IdBytes.task, (i + 1) * IdBytes.task),
      jobId: info.jobId,
      name: info.name,
      state,
      timestampMs: rows.timestampsMs![i]!,
      nodeId: node >= 0 ? nodeIds[node] : info.nodeId,
      workerId: info.workerId,
      attemptNumber: attempt,
      error: errors.get(i),
      actorId: info.actorId,
      type: info.type,
      funcOrClassName: info.funcOrClassName,
      parentTaskId: info.parentTaskId,
      workerPid: info.workerPid,
      stateTransitions: undefined,
      requiredResources: info.requiredResources,
    };
  }
  return out;
}

/** A record of its own: ids copied (not views of the request's buffer, which they would keep). */
function newRecord(e: tray.v1.ITaskEvent, transitions: tray.v1.ITaskStateTransition[]): tray.v1.ITaskEvent {
  const copy = (b: Uint8Array | null | undefined) => (b?.length ? b.slice() : undefined);
  return {
    taskId: copy(e.taskId),
    jobId: copy(e.jobId),
    name: e.name ?? '',
    state: e.state,
    timestampMs: e.timestampMs,
    nodeId: copy(e.nodeId),
    workerId: copy(e.workerId),
    attemptNumber: e.attemptNumber ?? 0,
    error: e.error ?? undefined,
    actorId: copy(e.actorId),
    type: e.type ?? '',
    funcOrClassName: e.funcOrClassName ?? '',
    parentTaskId: copy(e.parentTaskId),
    workerPid: e.workerPid ?? 0,
    stateTransitions: transitions,
    requiredResources: e.requiredResources ?? undefined,
  };
}

interface JobTasks {
  /** By task id + attempt, oldest first (a Map keeps insertion order). */
  attempts: Map<string, tray.v1.ITaskEvent>;
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
    const rows = request.rows ? eventsOfRows(request.rows) : [];
    this.droppedAtWorkers += dropped;
    for (const event of request.events) this.merge(event);
    for (const event of rows) this.merge(event);
  }

  private merge(event: tray.v1.ITaskEvent): void {
    const jobKey = bytesKey(event.jobId!);
    let job = this.jobs.get(jobKey);
    if (!job) this.jobs.set(jobKey, (job = { attempts: new Map(), evicted: 0 }));
    const key = `${bytesKey(event.taskId!)}:${event.attemptNumber ?? 0}`;
    // A worker sends the changes of one attempt together (state_transitions), or one change.
    const transitions = event.stateTransitions?.length
      ? event.stateTransitions.map((t) => ({ state: t.state ?? '', timestampMs: t.timestampMs ?? 0 }))
      : [{ state: event.state!, timestampMs: event.timestampMs ?? 0 }];
    const record = job.attempts.get(key);
    if (record === undefined) {
      if (job.attempts.size >= this.maxPerJob) {
        job.attempts.delete(job.attempts.keys().next().value!);
        job.evicted += 1;
      }
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
