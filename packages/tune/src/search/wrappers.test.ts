// ConcurrencyLimiter and Repeater around a real BasicVariantGenerator, with a recorder in between
// that keeps what the inner searcher was told: the limiter's null at its cap and its batch rounds,
// the repeater's identical configs with __trial_index__ and the mean it reports per group.
import { describe, expect, it } from 'vitest';
import type { TrialConfig, TrialResult } from '../types.js';
import { BasicVariantGenerator } from './basic-variant.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import { Repeater } from './repeater.js';
import { FINISHED, type Searcher, type SearchProperties } from './searcher.js';
import { gridSearch, uniform } from './space.js';

/** A BasicVariantGenerator that records every completion it hears. */
class Recorder implements Searcher {
  readonly inner = new BasicVariantGenerator();
  readonly completed: [string, number | undefined, boolean][] = [];
  setSearchProperties(p: SearchProperties): boolean {
    this.numSamples = p.numSamples;
    return this.inner.setSearchProperties(p);
  }
  numSamples = 0;
  suggest(id: string): TrialConfig | null | typeof FINISHED {
    return this.inner.suggest(id);
  }
  onTrialComplete(id: string, result?: TrialResult, error = false): void {
    this.completed.push([id, result?.loss as number | undefined, error]);
    this.inner.onTrialComplete(id);
  }
  saveState() {
    return { inner: this.inner.saveState(), completed: this.completed };
  }
  restoreState(s: any) {
    this.inner.restoreState(s.inner);
    this.completed.splice(0, this.completed.length, ...s.completed);
  }
}

const props = (paramSpace: Record<string, unknown>, numSamples: number): SearchProperties => ({
  metric: 'loss',
  mode: 'min',
  paramSpace,
  numSamples,
  seed: 3,
});
const result = (id: string, loss: number): TrialResult => ({
  trial_id: id,
  training_iteration: 1,
  time_total_s: 1,
  time_this_iter_s: 1,
  timestamp: 0,
  loss,
});

describe('ConcurrencyLimiter', () => {
  it('gives null at maxConcurrent and a config again as soon as one trial completes', () => {
    const rec = new Recorder();
    const lim = new ConcurrencyLimiter(rec, { maxConcurrent: 2 });
    lim.setSearchProperties(props({ x: uniform(0, 1) }, 4));
    expect(lim.suggest('a')).toMatchObject({ x: expect.any(Number) });
    expect(lim.suggest('b')).toMatchObject({ x: expect.any(Number) });
    expect(lim.suggest('c')).toBeNull();
    lim.onTrialComplete('a', result('a', 1));
    expect(rec.completed).toEqual([['a', 1, false]]);
    expect(lim.suggest('c')).not.toBeNull();
    expect(lim.suggest('d')).toBeNull();
    lim.onTrialComplete('b', result('b', 2));
    lim.onTrialComplete('c', result('c', 3));
    expect(lim.suggest('d')).not.toBeNull();
    lim.onTrialComplete('d', undefined, true);
    expect(lim.suggest('e')).toBe(FINISHED);
    expect(rec.completed.map((c) => c[0])).toEqual(['a', 'b', 'c', 'd']);
    expect(rec.completed[3]).toEqual(['d', undefined, true]);
  });

  it('batch: a new round only after the whole round completed, the inner searcher told together; the short last round flushed', () => {
    const rec = new Recorder();
    const lim = new ConcurrencyLimiter(rec, { maxConcurrent: 2, batch: true });
    lim.setSearchProperties(props({ x: uniform(0, 1) }, 3));
    expect(lim.suggest('a')).not.toBeNull();
    expect(lim.suggest('b')).not.toBeNull();
    lim.onTrialComplete('a', result('a', 1));
    expect(lim.suggest('c')).toBeNull(); // a is done but b is not: the round is still on
    expect(rec.completed).toEqual([]);
    lim.onTrialComplete('b', result('b', 2));
    expect(rec.completed.map((c) => c[0])).toEqual(['a', 'b']);
    expect(lim.suggest('c')).not.toBeNull();
    expect(lim.suggest('d')).toBe(FINISHED); // inner gave its 3; c is the last, short round
    lim.onTrialComplete('c', result('c', 3));
    expect(rec.completed.map((c) => c[0])).toEqual(['a', 'b', 'c']);
  });

  it('ignores completions of trials it did not suggest; refuses a bad maxConcurrent', () => {
    const rec = new Recorder();
    const lim = new ConcurrencyLimiter(rec, { maxConcurrent: 1 });
    lim.setSearchProperties(props({ x: uniform(0, 1) }, 2));
    lim.onTrialComplete('stranger', result('stranger', 0));
    expect(rec.completed).toEqual([]);
    expect(() => new ConcurrencyLimiter(rec, { maxConcurrent: 0 })).toThrow(
      /maxConcurrent must be a positive integer/,
    );
    expect(() => new ConcurrencyLimiter({} as any, { maxConcurrent: 1 })).toThrow(/must be a Searcher/);
  });

  it('restored, it continues: same live trials, same next config', () => {
    const a = new ConcurrencyLimiter(new Recorder(), { maxConcurrent: 2 });
    a.setSearchProperties(props({ x: uniform(0, 1) }, 5));
    a.suggest('t1');
    a.suggest('t2');
    const saved = JSON.parse(JSON.stringify(a.saveState()));
    const b = new ConcurrencyLimiter(new Recorder(), { maxConcurrent: 2 });
    b.setSearchProperties(props({ x: uniform(0, 1) }, 5));
    b.restoreState(saved);
    expect(b.suggest('t3')).toBeNull();
    a.onTrialComplete('t1', result('t1', 0));
    b.onTrialComplete('t1', result('t1', 0));
    expect(b.suggest('t3')).toEqual(a.suggest('t3'));
  });
});

describe('Repeater', () => {
  it('repeats each config with __trial_index__ and reports the mean of the group to the inner searcher', () => {
    const rec = new Recorder();
    const rep = new Repeater(rec, { repeat: 3 });
    rep.setSearchProperties(props({ g: gridSearch([10, 20]), x: uniform(0, 1) }, 6));
    expect(rec.numSamples).toBe(2); // 6 trials / repeat 3 → 2 inner samples (× the grid of 2)
    const configs = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => rep.suggest(id) as TrialConfig);
    expect(configs.map((c) => c.__trial_index__)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(configs.map((c) => c.g)).toEqual([10, 10, 10, 20, 20, 20]);
    expect(configs[1]!.x).toBe(configs[0]!.x);
    expect(configs[3]!.x).not.toBe(configs[0]!.x);
    rep.onTrialComplete('a', result('a', 1));
    rep.onTrialComplete('b', result('b', 2));
    expect(rec.completed).toEqual([]);
    rep.onTrialComplete('c', result('c', 6));
    // (1 + 2 + 6) / 3 = 3, reported under the group's first trial id
    expect(rec.completed).toEqual([['a', 3, false]]);
    rep.onTrialComplete('d', undefined, true);
    rep.onTrialComplete('e', result('e', 4));
    rep.onTrialComplete('f', result('f', 5));
    // d failed: mean of e and f = 4.5
    expect(rec.completed[1]).toEqual(['d', 4.5, false]);
  });

  it('a group whose trials all failed is an error to the inner searcher; setIndex false leaves the config alone', () => {
    const rec = new Recorder();
    const rep = new Repeater(rec, { repeat: 2, setIndex: false });
    rep.setSearchProperties(props({ x: uniform(0, 1) }, 2));
    const c = rep.suggest('a') as TrialConfig;
    rep.suggest('b');
    expect(Object.keys(c)).toEqual(['x']);
    rep.onTrialComplete('a', undefined, true);
    rep.onTrialComplete('b', undefined, true);
    expect(rec.completed).toEqual([['a', undefined, true]]);
    expect(rep.suggest('c')).toBe(FINISHED);
    expect(() => new Repeater(rec, { repeat: 0 })).toThrow(/repeat must be a positive integer/);
  });

  it('restored mid-group, it finishes the group with the same config', () => {
    const a = new Repeater(new Recorder(), { repeat: 2 });
    a.setSearchProperties(props({ x: uniform(0, 1) }, 4));
    const first = a.suggest('a') as TrialConfig;
    const saved = JSON.parse(JSON.stringify(a.saveState()));
    const rec = new Recorder();
    const b = new Repeater(rec, { repeat: 2 });
    b.setSearchProperties(props({ x: uniform(0, 1) }, 4));
    b.restoreState(saved);
    expect(b.suggest('b')).toEqual({ ...first, __trial_index__: 1 });
    b.onTrialComplete('a', result('a', 2));
    b.onTrialComplete('b', result('b', 4));
    expect(rec.completed).toEqual([['a', 3, false]]);
  });
});
