// The charts read Ray-style series out of Prometheus text: samples with labels (escaped quotes
// included), comments skipped, sums grouped by a label.
import { describe, expect, it } from 'vitest';
import { parsePrometheus, sumBy } from './prometheus.js';

const TEXT = `# HELP ray_tasks Current number of tasks in each state.
# TYPE ray_tasks gauge
ray_tasks{State="RUNNING",JobId="01000000"} 3
ray_tasks{State="FINISHED",JobId="01000000"} 10
ray_tasks{State="FINISHED",JobId="02000000"} 5
ray_object_store_memory{Location="MMAP_SHM",NodeAddress="127.0.0.1"} 1.5e6 1700000000000
weird_label{path="a \\"quoted\\" name"} 1
not a sample line
ray_node_cpu_utilization 12.5
`;

describe('parsePrometheus', () => {
  it('reads names, labels and values, skipping comments and lines that are not samples', () => {
    const samples = parsePrometheus(TEXT);
    expect(samples).toHaveLength(6);
    expect(samples[0]).toEqual({
      name: 'ray_tasks',
      labels: { State: 'RUNNING', JobId: '01000000' },
      value: 3,
    });
    expect(samples[3]).toMatchObject({ labels: { Location: 'MMAP_SHM' }, value: 1.5e6 });
    expect(samples[4].labels.path).toBe('a "quoted" name');
    expect(samples[5]).toEqual({ name: 'ray_node_cpu_utilization', labels: {}, value: 12.5 });
  });

  it('sums a series by one label', () => {
    const sums = sumBy(parsePrometheus(TEXT), 'ray_tasks', 'State');
    expect(Object.fromEntries(sums)).toEqual({ RUNNING: 3, FINISHED: 15 });
    expect(Object.fromEntries(sumBy(parsePrometheus(TEXT), 'ray_tasks'))).toEqual({ '': 18 });
  });
});
