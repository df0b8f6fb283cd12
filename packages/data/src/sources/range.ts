// range(n): rows { id } for 0..n-1, split into blocks of consecutive ids. Ids are int32 while
// n fits (float64 beyond), so they arrive in JS as numbers.
import { makeVector, Table } from 'apache-arrow';
import type { BuiltinReadTask } from './datasource.js';

export function rangeTasks(n: number, numBlocks: number): BuiltinReadTask[] {
  const tasks: BuiltinReadTask[] = [];
  const blocks = Math.max(1, Math.min(numBlocks, n));
  for (let b = 0; b < blocks; b++) {
    const start = Math.floor((b * n) / blocks);
    const end = Math.floor(((b + 1) * n) / blocks);
    tasks.push({
      builtin: 'readRangePiece',
      args: { start, end, wide: n > 2 ** 31 - 1 },
      source: `range[${start}, ${end})`,
      numRows: end - start,
    });
  }
  return tasks;
}

export function readRangePiece(args: { start: number; end: number; wide: boolean }): Table {
  const length = args.end - args.start;
  const ids = args.wide ? new Float64Array(length) : new Int32Array(length);
  for (let i = 0; i < length; i++) ids[i] = args.start + i;
  return new Table({ id: makeVector(ids) });
}
