import { describe, expect, it } from 'vitest';
import { parseMetrics } from './metrics-text.js';

describe('parseMetrics', () => {
  it('reads types, escaped label values, +Inf buckets and timestamps', () => {
    const s = parseMetrics(
      [
        '# HELP ray_tasks Tasks by state',
        '# TYPE ray_tasks gauge',
        'ray_tasks{Name="say \\"hi\\"\\\\n",State="RUNNING"} 2',
        'ray_lat_bucket{le="+Inf"} 3 1700000000000',
        'up 1',
      ].join('\n'),
    );
    expect(s.types.get('ray_tasks')).toBe('gauge');
    expect(s.find('ray_tasks', { State: 'RUNNING' })).toEqual([
      { name: 'ray_tasks', labels: { Name: 'say "hi"\\n', State: 'RUNNING' }, value: 2 },
    ]);
    expect(s.find('ray_lat_bucket')[0]?.value).toBe(3);
    expect(s.find('up')[0]?.labels).toEqual({});
  });

  it('throws on a line that is not exposition text, naming it', () => {
    expect(() => parseMetrics('ray_tasks{State=RUNNING} 1')).toThrow(/bad label.*State=RUNNING/);
    expect(() => parseMetrics('ray_tasks one')).toThrow(/bad sample value.*ray_tasks one/);
  });
});
