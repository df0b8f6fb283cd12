// Task events (TaskInfoGcsService): the state changes workers report for `tray list tasks`,
// `tray timeline` and the dashboard, merged into one record per task attempt (the owner's and the
// executor's rows of one attempt meet here). Kept in memory, at most `maxPerJob` attempts per job
// (a TaskAttemptTable each): when a job's table is full its oldest attempt is evicted and
// counted, so memory stays bounded however many tasks run. Across jobs at most `maxTotal`
// attempts are kept (Ray's task_events_max_num_task_in_gcs): past it the tables of finished jobs
// go, oldest job first, so a long-lived cluster running job after job does not grow. Not persisted (Ray's GCS does not
// persist them either). A report's rows (TaskEventRows.attempt_rows, TaskEventRow's layout) are
// checked and merged in place, read through typed views of one aligned copy of the field.
import { checkId, IdBytes, invalidArgument, TaskEventRow, type tray } from '@tray/protocol';
import { bytesKey } from '../storage/storage.js';
import { type Info, TaskAttemptTable } from './task-attempt-table.js';

// The row layout as a plain object of this module: the GCS runs as CommonJS, where each read of
// an @tray/protocol export is two getter calls (esbuild's export wrappers), and reading
// `TaskEventRow.x` a dozen times per row made them half of the GCS's CPU for a report.
const R = { ...TaskEventRow };

const TASK_TYPES = new Set(['NORMAL_TASK', 'ACTOR_CREATION_TASK', 'ACTOR_TASK']);
const NUM_STATES = 6;

const copyId = (b: Uint8Array | null | undefined) => (b?.length ? b.slice() : undefined);

/** A report's descriptors, checked, with their ids copied and their job's table. */
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

/** The rows' bytes in an aligned copy with Int32 and Float64 views; every index and time checked. */
function checkedRows(rows: tray.v1.ITaskEventRows, infos: number, nodes: number) {
  const field = rows.attemptRows ?? new Uint8Array(0);
  const n = field.length / R.bytes;
  if (!Number.isInteger(n))
    throw invalidArgument(`rows.attempt_rows must be ${R.bytes} bytes per row, got ${field.length} bytes`);
  // Read in place when the field is 8-byte aligned in its buffer; else from an aligned copy.
  let bytes = field;
  if (field.byteOffset % 8 !== 0) {
    bytes = new Uint8Array(field.length);
    bytes.set(field);
  }
  const ints = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const times = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
  for (let i = 0; i < n; i++) {
    const b = i * R.int32s;
    const info = ints[b + R.info]!;
    if (!(info >= 0 && info < infos))
      throw invalidArgument(`rows.attempt_rows[${i}].info is not an index of rows.infos: ${info}`);
    const exec = ints[b + R.execInfo]!;
    if (!(exec >= 0 && exec <= infos))
      throw invalidArgument(`rows.attempt_rows[${i}].exec_info is not an index of rows.infos + 1: ${exec}`);
    const node = ints[b + R.node]!;
    if (!(node >= 0 && node <= nodes))
      throw invalidArgument(`rows.attempt_rows[${i}].node is not an index of rows.node_ids + 1: ${node}`);
    if (!(ints[b + R.attempt]! >= 0))
      throw invalidArgument(`rows.attempt_rows[${i}].attempt must be >= 0, got ${ints[b + R.attempt]}`);
    for (let k = i * R.float64s + R.times; k < i * R.float64s + R.times + NUM_STATES; k++) {
      const t = times[k]!;
      if (!(t >= 0 && Number.isFinite(t)))
        throw invalidArgument(`rows.attempt_rows[${i}] has a state time that is not a time in ms: ${t}`);
    }
  }
  const errorRows = rows.errorRows ?? [];
  if (errorRows.length !== (rows.errors?.length ?? 0))
    throw invalidArgument('rows.error_rows and rows.errors must be as long');
  errorRows.forEach((row, k) => {
    if (!Number.isInteger(row) || row < 0 || row >= n)
      throw invalidArgument(`rows.error_rows[${k}] is not a row: ${row}`);
  });
  return { n, bytes, ints, times };
}

export class TaskEventBuffer {
  /** One table per job, in the order the jobs first reported (oldest first). */
  private readonly jobs = new Map<string, TaskAttemptTable>();
  /** Events workers said they dropped before reporting them. */
  private droppedAtWorkers = 0;
  /** Attempts of finished jobs whose whole table was dropped to stay within `maxTotal`. */
  private droppedWithJobs = 0;
  /** Whether a job (by its id's hex) has finished; set by the GCS (its job table). */
  jobFinished: (jobKey: string) => boolean = () => false;

  constructor(
    readonly maxPerJob = 10_000,
    readonly maxTotal = 100_000,
  ) {
    if (!Number.isInteger(maxPerJob) || maxPerJob <= 0) {
      throw new RangeError(`maxTaskEventsPerJob must be a positive integer, got ${maxPerJob}`);
    }
    if (!Number.isInteger(maxTotal) || maxTotal <= 0) {
      throw new RangeError(`maxTaskEvents must be a positive integer, got ${maxTotal}`);
    }
  }

  /** Attempts kept, over all jobs. */
  get size(): number {
    let total = 0;
    for (const table of this.jobs.values()) total += table.size;
    return total;
  }

  /**
   * Past `maxTotal` attempts over all jobs, drops the tables of finished jobs, oldest job first,
   * until the rest fit (running jobs' tables are kept whole: each is bounded by `maxPerJob`).
   */
  private trim(): void {
    let total = this.size;
    if (total <= this.maxTotal) return;
    for (const [key, table] of this.jobs) {
      if (total <= this.maxTotal) break;
      if (!this.jobFinished(key)) continue;
      total -= table.size;
      this.droppedWithJobs += table.size + table.evicted;
      this.jobs.delete(key);
    }
  }

  add(request: tray.v1.AddTaskEventDataRequest): void {
    const dropped = Number(request.numDropped ?? 0);
    if (dropped < 0) throw invalidArgument(`num_dropped must be >= 0, got ${dropped}`);
    const rows = request.rows;
    if (!rows) {
      this.droppedAtWorkers += dropped;
      return;
    }
    const infos = checkedInfos(rows);
    const nodeIds = rows.nodeIds ?? [];
    nodeIds.forEach((id, i) => {
      checkId(id, IdBytes.node, `rows.node_ids[${i}]`);
    });
    const { n, ints, times } = checkedRows(rows, infos.length, nodeIds.length);
    this.droppedAtWorkers += dropped;
    if (n === 0) return;
    const nodes = nodeIds.map(copyId);
    const errors = new Map<number, tray.v1.IErrorInfo>();
    (rows.errorRows ?? []).forEach((row, k) => {
      if (!errors.has(row)) errors.set(row, rows.errors![k]!);
    });
    // The table of each descriptor's job, looked up once per report.
    const tables = infos.map((info) => this.table(info.jobId));
    // A report with more of a job's attempts than its table holds (a driver running 10k+ tasks
    // a second): the oldest of them would be evicted by the newest within this report, so only the
    // newest `maxPerJob` are merged and the rest are counted as evicted at once (no per-row work).
    let skip: Map<TaskAttemptTable, number> | undefined;
    // The common report (one job's rows): the oldest rows over the table's size are passed over
    // at once, without counting or looking up a table per row.
    let from = 0;
    const oneTable = tables.every((t) => t === tables[0]);
    if (n > this.maxPerJob && oneTable) {
      from = n - this.maxPerJob;
      tables[0]!.evicted += from;
    } else if (n > this.maxPerJob) {
      const counts = new Map<TaskAttemptTable, number>();
      for (let i = 0; i < n; i++) {
        const table = tables[ints[i * R.int32s + R.info]!]!;
        counts.set(table, (counts.get(table) ?? 0) + 1);
      }
      for (const [table, count] of counts) {
        if (count <= this.maxPerJob) continue;
        (skip ??= new Map()).set(table, count - this.maxPerJob);
        table.evicted += count - this.maxPerJob;
      }
    }
    const anyErrors = errors.size > 0;
    for (let i = from; i < n; i++) {
      const b = i * R.int32s;
      const info = ints[b + R.info]!;
      const table = tables[info]!;
      if (skip !== undefined) {
        const left = skip.get(table);
        if (left !== undefined && left > 0) {
          skip.set(table, left - 1);
          continue;
        }
      }
      // The task id as words: bytes [0, 24) of a row are its first six Int32 slots.
      const s = table.slot(ints, b + R.taskId / 4, ints[b + R.attempt]!);
      const t0 = i * R.float64s + R.times;
      for (let state = 0; state < NUM_STATES; state++) {
        const t = times[t0 + state]!;
        if (t > 0) table.reached(s, state, t);
      }
      table.describe(s, infos[info]!);
      const exec = ints[b + R.execInfo]!;
      if (exec > 0) table.describe(s, infos[exec - 1]!);
      const node = ints[b + R.node]!;
      table.note(s, node > 0 ? nodes[node - 1] : undefined, anyErrors ? errors.get(i) : undefined);
    }
    this.trim();
  }

  private table(jobId: Uint8Array | undefined): TaskAttemptTable {
    const key = bytesKey(jobId);
    let table = this.jobs.get(key);
    if (!table) this.jobs.set(key, (table = new TaskAttemptTable(this.maxPerJob)));
    return table;
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
        ? [this.jobs.get(bytesKey(request.jobId))].filter((j): j is TaskAttemptTable => j !== undefined)
        : [...this.jobs.values()];
    let numDropped = this.droppedAtWorkers + this.droppedWithJobs;
    let numTotal = 0;
    for (const job of jobs) {
      numDropped += job.evicted;
      numTotal += job.size;
    }
    // Only the newest `limit` are made into records: skip the oldest across the jobs in order.
    let skip = request.limit > 0 ? Math.max(0, numTotal - request.limit) : 0;
    const events: tray.v1.ITaskEvent[] = [];
    for (const job of jobs) {
      const here = Math.min(skip, job.size);
      skip -= here;
      for (const record of job.records(here)) events.push(record);
    }
    return { events, numDropped, numTotal };
  }
}
