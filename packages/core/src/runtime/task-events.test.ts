// The task-event buffer of a core worker: the changes of one attempt travel as one row (a
// timestamp per state reached), a full buffer drops and counts (and says so in the next report), a report
// that fails counts its events as dropped, and an interval of 0 notes nothing.
import { TaskEventRow as R, TASK_EVENT_STATES, type tray } from '@tray/protocol';
import { describe, expect, it } from 'vitest';
import { type OwnedTask, reportIntervalMs, TaskEvents } from './task-events.js';

const self = { workerId: new Uint8Array(28).fill(1), nodeId: new Uint8Array(28).fill(2) };
// What the tasks of one remote function share (the launcher's template).
const fn = { name: 'f' };
const resources = { quantities: { CPU: 1 } };
const jobId = new Uint8Array(4).fill(1);
const spec = (i: number): tray.v1.ITaskSpec => ({
  taskId: new Uint8Array(24).fill(i),
  jobId,
  name: 'f',
  function: fn,
  requiredResources: resources,
});

const STATES = TASK_EVENT_STATES;
const task = (s: tray.v1.ITaskSpec): OwnedTask => ({
  spec: s,
  eventsRow: -1,
  argsAtMs: 0,
  queuedAtMs: 0,
  pushedAtMs: 0,
});

/** A report's rows read back from the wire's layout (TaskEventRow). */
function decoded(rows: tray.v1.ITaskEventRows) {
  const bytes = Uint8Array.from(rows.attemptRows!);
  const ints = new Int32Array(bytes.buffer);
  const times = new Float64Array(bytes.buffer);
  return Array.from({ length: bytes.length / R.bytes }, (_, i) => ({
    taskId: Array.from(bytes.subarray(i * R.bytes, i * R.bytes + 24)),
    attempt: ints[i * R.int32s + R.attempt],
    info: ints[i * R.int32s + R.info],
    execInfo: ints[i * R.int32s + R.execInfo],
    node: ints[i * R.int32s + R.node],
    reached: STATES.filter((_, k) => times[i * R.float64s + R.times + k]! > 0),
    times: Array.from(times.subarray(i * R.float64s + R.times, i * R.float64s + R.times + 6)),
  }));
}

function collecting() {
  const reports: { rows: tray.v1.ITaskEventRows; dropped: number }[] = [];
  const sink = async (rows: tray.v1.ITaskEventRows, dropped: number) => {
    reports.push({ rows, dropped });
  };
  return { reports, sink };
}

describe('task events in a core worker', () => {
  it('sends one row per attempt: its id, when it reached each state, and a descriptor per side', async () => {
    const events = new TaskEvents(self, 60_000);
    const { reports, sink } = collecting();
    events.reportTo(sink);
    const s = spec(3);
    const t = task(s);
    events.owner(t, 'PENDING_ARGS_AVAIL');
    events.owner(t, 'PENDING_NODE_ASSIGNMENT');
    events.owner(t, 'SUBMITTED_TO_WORKER', self.nodeId);
    events.executor(s, 'RUNNING');
    events.executor(s, 'FAILED', { type: 1, message: 'boom' });
    events.owner(task(spec(4)), 'PENDING_ARGS_AVAIL');
    // A retry is an attempt of its own.
    t.spec = { ...s, attemptNumber: 1 };
    events.owner(t, 'PENDING_ARGS_AVAIL');
    await events.flush();
    const rows = reports[0]!.rows;
    const got = decoded(rows);
    expect(got).toHaveLength(3);
    expect(got[0]!.taskId).toEqual(Array.from(s.taskId!));
    expect(got.map((r) => r.attempt)).toEqual([0, 0, 1]);
    expect(got[0]!.reached).toEqual([
      'PENDING_ARGS_AVAIL',
      'PENDING_NODE_ASSIGNMENT',
      'SUBMITTED_TO_WORKER',
      'RUNNING',
      'FAILED',
    ]);
    expect(got[1]!.reached).toEqual(['PENDING_ARGS_AVAIL']);
    expect(got[2]!.reached).toEqual(['PENDING_ARGS_AVAIL']);
    // Two tasks of one function from one parent share the owner's descriptor; the first row has
    // the executor's too.
    expect(got.map((r) => r.info)).toEqual([0, 0, 0]);
    expect(got.map((r) => r.execInfo)).toEqual([2, 0, 0]);
    const [owner, executor] = rows.infos!;
    expect(owner!.funcOrClassName).toBe('f');
    expect(owner!.requiredResources).toEqual({ CPU: 1 });
    expect(owner!.workerId).toBeUndefined();
    expect(executor!.workerPid).toBe(process.pid);
    expect(got.map((r) => r.node)).toEqual([1, 0, 0]);
    expect(rows.errorRows).toEqual([0]);
    expect(rows.errors![0]!.message).toBe('boom');
    await events.close();
  });

  it("writes a pushed task's one row at the owner: the executor's times from the reply and the leased worker", async () => {
    const events = new TaskEvents(self, 60_000);
    const { reports, sink } = collecting();
    events.reportTo(sink);
    const worker = { workerId: new Uint8Array(28).fill(7), nodeId: self.nodeId, workerPid: 4242 };
    const tasks = [task(spec(1)), task(spec(2))];
    for (const t of tasks) {
      events.queued(t);
      events.pushed(t, worker);
    }
    events.ran(tasks[0]!, 1000, 1005);
    events.ran(tasks[1]!, 1006, 1009, { type: 1, message: 'boom' });
    await events.flush();
    const rows = reports[0]!.rows;
    const got = decoded(rows);
    // One row per task, none from the executor; both name the same worker's descriptor.
    expect(got).toHaveLength(2);
    expect(got[0]!.reached).toEqual([
      'PENDING_NODE_ASSIGNMENT',
      'SUBMITTED_TO_WORKER',
      'RUNNING',
      'FINISHED',
    ]);
    expect(got[0]!.times.slice(3, 5)).toEqual([1000, 1005]);
    expect(got[1]!.reached).toEqual(['PENDING_NODE_ASSIGNMENT', 'SUBMITTED_TO_WORKER', 'RUNNING', 'FAILED']);
    expect(got[1]!.times[5]).toBe(1009);
    expect(got.map((r) => r.execInfo)).toEqual([2, 2]);
    expect(rows.infos![1]).toMatchObject({ workerId: worker.workerId, workerPid: 4242 });
    expect(rows.errors![0]!.message).toBe('boom');
    await events.close();
  });

  it('writes what a task still pending at a report reached, once, and the rest in its next row', async () => {
    const events = new TaskEvents(self, 60_000);
    const { reports, sink } = collecting();
    events.reportTo(sink);
    const worker = { workerId: new Uint8Array(28).fill(7), nodeId: self.nodeId, workerPid: 4242 };
    const queued = task(spec(1));
    const pushed = task(spec(2));
    const pending = [queued, pushed];
    events.beforeReport(() => {
      for (const t of pending) events.settle(t);
    });
    events.made(queued);
    events.queued(queued);
    events.queued(pushed);
    events.pushed(pushed, worker);
    await events.flush();
    // Nothing new: the next report sends no row again.
    await events.flush();
    events.ran(pushed, 2000, 2001);
    await events.flush();
    expect(reports).toHaveLength(2);
    const first = decoded(reports[0]!.rows);
    expect(first.map((r) => r.reached)).toEqual([
      ['PENDING_ARGS_AVAIL', 'PENDING_NODE_ASSIGNMENT'],
      ['PENDING_NODE_ASSIGNMENT', 'SUBMITTED_TO_WORKER'],
    ]);
    expect(reports[0]!.rows.infos![first[1]!.execInfo! - 1]).toMatchObject({ workerPid: 4242 });
    const [end, ...more] = decoded(reports[1]!.rows);
    expect(more).toHaveLength(0);
    expect(end!.taskId).toEqual(first[1]!.taskId);
    expect(end!.reached).toEqual(['RUNNING', 'FINISHED']);
    await events.close();
  });

  it('notes the task an executor runs across a report as RUNNING since it started', async () => {
    const events = new TaskEvents(self, 60_000);
    const { reports, sink } = collecting();
    events.reportTo(sink);
    let running: { spec: tray.v1.ITaskSpec; sinceMs: number } | undefined = { spec: spec(9), sinceMs: 777 };
    events.whileRunning(() => running);
    await events.flush();
    running = undefined;
    await events.flush();
    expect(reports).toHaveLength(1);
    const [row] = decoded(reports[0]!.rows);
    expect(row!.reached).toEqual(['RUNNING']);
    expect(row!.times[3]).toBe(777);
    expect(reports[0]!.rows.infos![row!.info!]!.workerPid).toBe(process.pid);
    await events.close();
  });

  it('stamps changes with the time they happened, and gives a task noted after a report a new row', async () => {
    const events = new TaskEvents(self, 60_000);
    const { reports, sink } = collecting();
    events.reportTo(sink);
    const t = task(spec(5));
    const before = Date.now();
    events.owner(t, 'PENDING_ARGS_AVAIL');
    await events.flush();
    // A later turn: the clock is read again.
    await new Promise((r) => setTimeout(r, 20));
    events.owner(t, 'SUBMITTED_TO_WORKER');
    events.owner(t, 'FINISHED');
    await events.flush();
    const [first] = decoded(reports[0]!.rows);
    const [second, ...more] = decoded(reports[1]!.rows);
    expect(more).toHaveLength(0);
    expect(first!.reached).toEqual(['PENDING_ARGS_AVAIL']);
    expect(second!.reached).toEqual(['SUBMITTED_TO_WORKER', 'FINISHED']);
    expect(second!.taskId).toEqual(first!.taskId);
    expect(first!.times[0]).toBeGreaterThanOrEqual(before);
    expect(second!.times[2]).toBeGreaterThanOrEqual(first!.times[0]! + 20);
    expect(second!.times[4]).toBeLessThanOrEqual(Date.now());
    await events.close();
  });

  it('drops what does not fit, and reports how many were dropped', async () => {
    const events = new TaskEvents(self, 60_000, 3);
    const { reports, sink } = collecting();
    events.reportTo(sink);
    for (let i = 0; i < 5; i++) events.owner(task(spec(i)), 'PENDING_ARGS_AVAIL');
    await events.flush();
    expect(decoded(reports[0]!.rows)).toHaveLength(3);
    expect(reports[0]!.dropped).toBe(2);
    await events.close();
  });

  it('sends only the newest attempts of a job that the GCS keeps, once it said how many, and counts the rest', async () => {
    const events = new TaskEvents(self, 60_000);
    const reports: { rows: tray.v1.ITaskEventRows; dropped: number }[] = [];
    // The GCS's reply: it keeps 3 attempts per job.
    events.reportTo(async (rows, dropped) => {
      reports.push({ rows, dropped });
      return 3;
    });
    const run = (ids: number[], failing: number) => {
      for (const i of ids)
        events.ran(
          task(spec(i)),
          1000 + i,
          1001 + i,
          i === failing ? { type: 1, message: `boom ${i}` } : undefined,
        );
    };
    // Before the GCS said anything, everything goes.
    run([1, 2, 3, 4], 0);
    await events.flush();
    expect(decoded(reports[0]!.rows)).toHaveLength(4);
    expect(reports[0]!.dropped).toBe(0);
    // Then the newest 3 of a report (as the GCS would keep), errors still with their rows.
    run([5, 6, 7, 8, 9], 8);
    await events.flush();
    const got = decoded(reports[1]!.rows);
    expect(got.map((r) => r.taskId[0])).toEqual([7, 8, 9]);
    expect(
      got.every((r) => r.reached.join() === (r.taskId[0] === 8 ? 'RUNNING,FAILED' : 'RUNNING,FINISHED')),
    ).toBe(true);
    expect(reports[1]!.rows.errorRows).toEqual([1]);
    expect(reports[1]!.rows.errors!.map((e) => e.message)).toEqual(['boom 8']);
    expect(reports[1]!.dropped).toBe(2);
    // A failed task among the rows not sent: its error goes with them.
    run([10, 11, 12, 13], 10);
    await events.flush();
    expect(decoded(reports[2]!.rows).map((r) => r.taskId[0])).toEqual([11, 12, 13]);
    expect(reports[2]!.rows.errorRows).toEqual([]);
    expect(reports[2]!.rows.errors).toEqual([]);
    expect(reports[2]!.dropped).toBe(1);
    await events.close();
  });

  it("keeps each job's newest attempts when a report holds rows of two jobs", async () => {
    const events = new TaskEvents(self, 60_000);
    const reports: tray.v1.ITaskEventRows[] = [];
    let dropped = 0;
    events.reportTo(async (rows, n) => {
      reports.push(rows);
      dropped += n;
      return 2;
    });
    await events.flush();
    events.ran(task(spec(1)), 1000, 1001);
    await events.flush();
    const otherJob = new Uint8Array(4).fill(2);
    // Job 1: tasks 10-13; job 2: tasks 20-21, interleaved.
    for (const [i, job] of [
      [10, jobId],
      [20, otherJob],
      [11, jobId],
      [12, jobId],
      [21, otherJob],
      [13, jobId],
    ] as const) {
      events.ran(
        task({ ...spec(i), jobId: job }),
        1000 + i,
        1001 + i,
        i === 12 ? { type: 1, message: 'boom' } : undefined,
      );
    }
    await events.flush();
    const rows = reports.at(-1)!;
    const got = decoded(rows);
    expect(got.map((r) => r.taskId[0])).toEqual([20, 12, 21, 13]);
    expect(got.map((r) => rows.infos![r.info!]!.jobId![0])).toEqual([2, 1, 2, 1]);
    expect(rows.errorRows).toEqual([1]);
    expect(dropped).toBe(2);
    await events.close();
  });

  it('counts the events of a failed report as dropped in the next one', async () => {
    const events = new TaskEvents(self, 60_000);
    let fail = true;
    const reports: number[] = [];
    events.reportTo(async (_rows, dropped) => {
      if (fail) throw new Error('GCS unavailable');
      reports.push(dropped);
    });
    events.owner(task(spec(1)), 'PENDING_ARGS_AVAIL');
    events.owner(task(spec(2)), 'PENDING_ARGS_AVAIL');
    await events.flush();
    fail = false;
    await events.flush();
    expect(reports).toEqual([2]);
    await events.close();
  });

  it('TRAY_TASK_EVENTS_REPORT_INTERVAL_MS=0 turns them off; a bad value names the variable', () => {
    expect(new TaskEvents(self, reportIntervalMs({ TRAY_TASK_EVENTS_REPORT_INTERVAL_MS: '0' })).enabled).toBe(
      false,
    );
    expect(reportIntervalMs({})).toBe(1000);
    expect(() => reportIntervalMs({ TRAY_TASK_EVENTS_REPORT_INTERVAL_MS: 'soon' })).toThrow(
      /TRAY_TASK_EVENTS_REPORT_INTERVAL_MS must be a whole number.*got 'soon'/,
    );
  });
});
