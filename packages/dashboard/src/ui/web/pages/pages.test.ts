// What the pages compute before they draw: the submit form's body (Ray's field names, clear
// errors naming the bad field), the charts' series from samples, the timeline's bars.
import { describe, expect, it } from 'vitest';
import { timelineBars } from '../components/timeline.js';
import { chartData } from './charts.js';
import { submitRequest } from './jobs.js';

const empty = { entrypoint: '', submissionId: '', runtimeEnv: '', metadata: '', numCpus: '' };

describe('the submit form', () => {
  it("builds Ray's POST /api/jobs/ body from the fields that are filled in", () => {
    expect(submitRequest({ ...empty, entrypoint: ' echo hi ' })).toEqual({ entrypoint: 'echo hi' });
    expect(
      submitRequest({
        entrypoint: 'node main.mjs',
        submissionId: 'mine',
        runtimeEnv: '{"env_vars": {"A": "1"}}',
        metadata: '{"owner": "me"}',
        numCpus: '0.5',
      }),
    ).toEqual({
      entrypoint: 'node main.mjs',
      submission_id: 'mine',
      runtime_env: { env_vars: { A: '1' } },
      metadata: { owner: 'me' },
      entrypoint_num_cpus: 0.5,
    });
  });

  it('says which field is wrong and how', () => {
    expect(() => submitRequest(empty)).toThrow(/Entrypoint is empty/);
    expect(() => submitRequest({ ...empty, entrypoint: 'x', runtimeEnv: '{nope' })).toThrow(
      /Runtime env is not valid JSON/,
    );
    expect(() => submitRequest({ ...empty, entrypoint: 'x', metadata: '[1]' })).toThrow(
      /Metadata must be a JSON object/,
    );
    expect(() => submitRequest({ ...empty, entrypoint: 'x', numCpus: '-1' })).toThrow(
      /CPUs must be a number ≥ 0/,
    );
  });
});

describe('chart data', () => {
  it('gives one line per series seen, null where a sample lacks it, and skips samples without the chart', () => {
    const data = chartData(
      [
        { t: 1, charts: { tasks: { RUNNING: 1 } } },
        { t: 2, charts: {} },
        { t: 3, charts: { tasks: { RUNNING: 2, FINISHED: 4 } } },
      ],
      'tasks',
    );
    expect(data.times).toEqual([1, 3]);
    expect(data.series).toEqual([
      { label: 'FINISHED', values: [null, 4] },
      { label: 'RUNNING', values: [1, 2] },
    ]);
  });
});

describe('timeline bars', () => {
  it('puts each started task on its worker row, running ones up to now, unstarted ones nowhere', () => {
    const { rows, bars } = timelineBars(
      [
        { task_id: 'a', worker_id: 'w1', start_time_ms: 100, end_time_ms: 150, state: 'FINISHED' },
        { task_id: 'b', worker_id: 'w2', start_time_ms: 120, state: 'RUNNING' },
        { task_id: 'c', worker_id: 'w1', state: 'PENDING_NODE_ASSIGNMENT' },
      ],
      200,
    );
    expect(rows).toEqual(['worker w1', 'worker w2']);
    expect(bars.map((b) => [b.task.task_id, b.row, b.start, b.end])).toEqual([
      ['a', 'worker w1', 100, 150],
      ['b', 'worker w2', 120, 200],
    ]);
  });
});
