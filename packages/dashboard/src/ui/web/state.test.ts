// Ray's summary shapes (/api/v0/{tasks,actors,objects}/summarize) read into the numbers the
// overview and the charts show.
import { describe, expect, it } from 'vitest';
import { summaryObjectTotals, summaryStateCounts } from './state.js';

describe('Ray summaries', () => {
  it('add up state counts over every group of a task summary', () => {
    const summary = {
      node_id_to_summary: {
        cluster: {
          summary: {
            square: { func_or_class_name: 'square', state_counts: { FINISHED: 10, RUNNING: 2 } },
            'Counter.inc': { func_or_class_name: 'Counter.inc', state_counts: { FINISHED: 3 } },
          },
          total_tasks: 15,
        },
      },
    };
    expect(summaryStateCounts(summary)).toEqual({ FINISHED: 13, RUNNING: 2 });
    expect(summaryStateCounts({})).toBeUndefined();
  });

  it("take an object summary's cluster totals, or the sum of its call sites", () => {
    const groups = {
      'a.js:1': { total_objects: 2, total_size_mb: 1 },
      'b.js:2': { total_objects: 1, total_size_mb: 2 },
    };
    expect(summaryObjectTotals({ node_id_to_summary: { cluster: { summary: groups } } })).toEqual({
      count: 3,
      bytes: 3 * 2 ** 20,
    });
    expect(
      summaryObjectTotals({
        node_id_to_summary: { cluster: { summary: groups, total_objects: 5, total_size_mb: 0.5 } },
      }),
    ).toEqual({ count: 5, bytes: 0.5 * 2 ** 20 });
    expect(summaryObjectTotals({ result: [] })).toBeUndefined();
  });
});
