// ResultGrid: the best result by each scope, trials without the metric skipped, and the errors.
import { describe, expect, it } from 'vitest';
import { type Result, ResultGrid } from './result-grid.js';

function result(id: string, losses: number[], error?: string): Result {
  const history = losses.map((loss, i) => ({ loss, training_iteration: i + 1 }));
  return {
    trialId: id,
    status: error ? 'ERROR' : 'TERMINATED',
    metrics: history.at(-1),
    config: { id, nested: { a: 1 } },
    checkpoint: undefined,
    path: `/x/${id}`,
    error: error === undefined ? undefined : new Error(error),
    metricsHistory: history,
  };
}

describe('ResultGrid', () => {
  const grid = new ResultGrid(
    [result('a', [5, 1, 4]), result('b', [3, 3, 2]), result('c', [], 'boom'), result('d', [Number.NaN])],
    'loss',
    'min',
  );

  it('picks the best last, best-ever and average results', () => {
    expect(grid.getBestResult().trialId).toBe('b');
    expect(grid.getBestResult('loss', 'min', 'all').trialId).toBe('a');
    expect(grid.getBestResult('loss', 'max').trialId).toBe('a');
    expect(grid.getBestResult('loss', 'min', 'avg').trialId).toBe('b');
  });

  it('lists errors and iterates every trial', () => {
    expect(grid.length).toBe(4);
    expect(grid.errors.map((e) => e.message)).toEqual(['boom']);
    expect([...grid].map((r) => r.trialId)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('flattens config into rows', () => {
    const row = grid.toRows()[0]!;
    expect(row['config/nested/a']).toBe(1);
    expect(row.loss).toBe(4);
  });

  it('says what is wrong with a metric no trial reported or a bad mode', () => {
    expect(() => grid.getBestResult('acc')).toThrow(/no trial reported a finite "acc".*loss/);
    expect(() => grid.getBestResult('loss', 'lowest' as 'min')).toThrow(/mode must be 'min' or 'max'/);
    expect(() => new ResultGrid([]).getBestResult()).toThrow(/no metric\/mode/);
  });
});
