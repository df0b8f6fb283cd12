// The state commands' table and YAML: a table stays within the terminal's width, leaves out
// empty columns, and shows 10,000 rows as MAX_TABLE_ROWS rows and a note saying how to see all.
import { describe, expect, it } from 'vitest';
import { MAX_TABLE_ROWS, table, yaml } from './format.js';

const rows = Array.from({ length: 10_000 }, (_, i) => ({
  task_id: `${i}`.padStart(48, 'a'),
  name: `task-${i}`,
  state: i % 7 === 0 ? 'FAILED' : 'FINISHED',
  actor_id: null,
  required_resources: { CPU: 1 },
}));

describe('state command output', () => {
  it('fits a table of 10,000 rows into 80 columns, truncated with a note', () => {
    const lines = table(rows, 80).trimEnd().split('\n');
    expect(lines).toHaveLength(1 + MAX_TABLE_ROWS + 1);
    for (const line of lines.slice(0, -1)) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^TASK_ID\s+NAME\s+STATE\s+REQUIRED_RESOURCES$/);
    expect(lines[1]).toMatch(/^a+…\s+task-0\s+FAILED\s+\{"CPU":1\}$/);
    expect(lines.at(-1)).toBe(
      `(${10_000 - MAX_TABLE_ROWS} more rows not shown in a table; use --format json or yaml, or --filter)`,
    );
  });

  it('writes YAML that keeps strings that look like numbers as strings', () => {
    expect(yaml([{ task_id: '0123', n: 2, events: [{ state: 'RUNNING' }], empty: {} }])).toBe(
      '- task_id: "0123"\n  n: 2\n  events:\n    - state: RUNNING\n  empty: {}\n',
    );
  });
});
