// The task-event buffer of a core worker: the changes of one attempt travel as one row (a
// timestamp per state reached), a full buffer drops and counts (and says so in the next report), a report
// that fails counts its events as dropped, and an interval of 0 notes nothing.
import type { tray } from '@tray/protocol';
import { describe, expect, it } from 'vitest';
import { reportIntervalMs, TaskEvents } from './task-events.js';

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

function collecting() {
  const reports: { rows: tray.v1.ITaskEventRows; dropped: number }[] = [];
  const sink = async (rows: tray.v1.ITaskEventRows, dropped: number) => {
    reports.push({ rows, dropped });
  };
  return { reports, sink };
}

const STATES = [
  'PENDING_ARGS_AVAIL',
  'PENDING_NODE_ASSIGNMENT',
  'SUBMITTED_TO_WORKER',
  'RUNNING',
  'FINISHED',
  'FAILED',
];

describe('task events in a core worker', () => {
  it('sends one row per attempt: its id, when it reached each state, and a descriptor per side', async () => {
    const events = new TaskEvents(self, 60_000);
    const { reports, sink } = collecting();
    events.reportTo(sink);
    const s = spec(3);
    events.owner(s, 'PENDING_ARGS_AVAIL');
    events.owner(s, 'PENDING_NODE_ASSIGNMENT');
    events.owner(s, 'SUBMITTED_TO_WORKER', self.nodeId);
    events.executor(s, 'RUNNING');
    events.executor(s, 'FAILED', { type: 1, message: 'boom' });
    events.owner(spec(4), 'PENDING_ARGS_AVAIL');
    // A retry is an attempt of its own.
    events.owner({ ...s, attemptNumber: 1 }, 'PENDING_ARGS_AVAIL');
    await events.flush();
    const rows = reports[0]!.rows;
    expect(rows.taskIds!.length).toBe(3 * 24);
    expect(Array.from(rows.taskIds!.subarray(0, 24))).toEqual(Array.from(s.taskId!));
    expect(rows.attempts).toEqual([0, 0, 1]);
    const reached = (row: number) =>
      STATES.filter((_, k) => rows.stateTimesMs![row * STATES.length + k]! > 0);
    expect(reached(0)).toEqual([
      'PENDING_ARGS_AVAIL',
      'PENDING_NODE_ASSIGNMENT',
      'SUBMITTED_TO_WORKER',
      'RUNNING',
      'FAILED',
    ]);
    expect(reached(1)).toEqual(['PENDING_ARGS_AVAIL']);
    expect(reached(2)).toEqual(['PENDING_ARGS_AVAIL']);
    // Two tasks of one function from one parent share the owner's descriptor; the first row has
    // the executor's too.
    expect(rows.info).toEqual([0, 0, 0]);
    expect(rows.execInfo).toEqual([2, 0, 0]);
    const [owner, executor] = rows.infos!;
    expect(owner!.funcOrClassName).toBe('f');
    expect(owner!.requiredResources).toEqual({ CPU: 1 });
    expect(owner!.workerId).toBeUndefined();
    expect(executor!.workerPid).toBe(process.pid);
    expect(rows.node).toEqual([1, 0, 0]);
    expect(rows.errorRows).toEqual([0]);
    expect(rows.errors![0]!.message).toBe('boom');
    await events.close();
  });

  it('drops what does not fit, and reports how many were dropped', async () => {
    const events = new TaskEvents(self, 60_000, 3);
    const { reports, sink } = collecting();
    events.reportTo(sink);
    for (let i = 0; i < 5; i++) events.owner(spec(i), 'PENDING_ARGS_AVAIL');
    await events.flush();
    expect(reports[0]!.rows.taskIds!.length).toBe(3 * 24);
    expect(reports[0]!.dropped).toBe(2);
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
    events.owner(spec(1), 'PENDING_ARGS_AVAIL');
    events.owner(spec(2), 'PENDING_ARGS_AVAIL');
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
