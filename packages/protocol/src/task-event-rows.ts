// The row layout of TaskEventRows.attempt_rows (gcs.proto), declared once for the core workers
// that write rows and the GCS that reads them: 88 bytes per task attempt, a multiple of 8 so that
// Int32Array and Float64Array views over an aligned copy of the field read every row in place.

/** The six task states, in the order of a row's timestamps. */
export const TASK_EVENT_STATES = [
  'PENDING_ARGS_AVAIL',
  'PENDING_NODE_ASSIGNMENT',
  'SUBMITTED_TO_WORKER',
  'RUNNING',
  'FINISHED',
  'FAILED',
] as const;

export const TaskEventRow = {
  /** Bytes per row. */
  bytes: 88,
  /** The task id: bytes [0, 24). */
  taskId: 0,
  /** Int32 indexes (Int32Array view: byte offset / 4) of the attempt number, info, exec_info, node. */
  attempt: 6,
  info: 7,
  execInfo: 8,
  node: 9,
  /** Int32 slots per row. */
  int32s: 22,
  /** Float64 index (byte offset / 8) of the first state time; six of them. */
  times: 5,
  /** Float64 slots per row. */
  float64s: 11,
} as const;
