// ASHAScheduler against a decision sequence computed by hand (the arithmetic is in the comments):
// rungs at grace·rf^k, a trial stopped when it first reaches a rung below the (1 − 1/rf) quantile
// of the scores already there (numpy's linear percentile), stopped at maxT, and a clear error for a
// result without the metric.
import { describe, expect, it } from 'vitest';
import { ASHAScheduler } from './async-hyperband.js';
import { result, Trials } from './testing.js';

describe('ASHAScheduler', () => {
  it("has Ray's defaults: training_iteration, maxT 100, grace 1, rf 4 → rungs 64, 16, 4, 1", () => {
    const s = new ASHAScheduler({ metric: 'loss', mode: 'min' });
    expect(s.timeAttr).toBe('training_iteration');
    // floor(log4(100 / 1)) + 1 = 3 + 1 = 4 rungs: 1·4^3, 1·4^2, 1·4, 1
    expect(s.rungMilestones).toEqual([[64, 16, 4, 1]]);
    // brackets 2: bracket s=1 has floor(log4(100)) − 1 + 1 = 3 rungs at 1·4^(k+1): 64, 16, 4
    expect(new ASHAScheduler({ metric: 'loss', mode: 'min', brackets: 2 }).rungMilestones[1]).toEqual([
      64, 16, 4,
    ]);
    // log4(64) computes as 2.9999999999999996: still 4 rungs
    expect(new ASHAScheduler({ metric: 'l', mode: 'min', maxT: 64 }).rungMilestones).toEqual([
      [64, 16, 4, 1],
    ]);
  });

  it('stops at the rungs as computed by hand (maxT 16, grace 1, rf 4, min loss)', () => {
    const s = new ASHAScheduler({
      metric: 'loss',
      mode: 'min',
      maxT: 16,
      gracePeriod: 1,
      reductionFactor: 4,
    });
    expect(s.rungMilestones).toEqual([[16, 4, 1]]);
    const ctx = new Trials();
    for (const id of ['A', 'B', 'C', 'D']) s.onTrialAdd(ctx, ctx.add(id));
    const step = (id: string, it: number, loss: number) =>
      s.onTrialResult(ctx, ctx.get(id), result(id, it, { loss }));
    // scores are −loss (mode min); cutoff = 75th percentile of the scores already at the rung.
    expect(step('A', 1, 5)).toBe('CONTINUE'); // rung 1 empty → no cutoff; records −5
    expect(step('B', 1, 3)).toBe('CONTINUE'); // cutoff pct75([−5]) = −5; −3 ≥ −5
    expect(step('C', 1, 4)).toBe('STOP'); // pct75([−5, −3]) = −5 + 0.75·2 = −3.5; −4 < −3.5
    expect(step('D', 1, 1)).toBe('CONTINUE'); // pct75([−5, −4, −3]) = −4 + 0.5·1 = −3.5; −1 ≥ −3.5
    expect(step('A', 2, 4.5)).toBe('CONTINUE'); // between rungs: already recorded at 1
    expect(step('A', 4, 4)).toBe('CONTINUE'); // rung 4 empty; records −4
    expect(step('B', 4, 2)).toBe('CONTINUE'); // pct75([−4]) = −4; −2 ≥ −4
    expect(step('D', 5, 3)).toBe('STOP'); // first past rung 4: pct75([−4, −2]) = −4 + 0.75·2 = −2.5; −3 < −2.5
    expect(step('B', 5, 1.5)).toBe('CONTINUE'); // B already recorded at rung 4
    expect(step('B', 16, 1)).toBe('STOP'); // maxT reached (stopLastTrials)
    expect(s.numStopped).toBe(3);
  });

  it('mode max ranks the other way; a custom timeAttr is read', () => {
    const s = new ASHAScheduler({
      metric: 'acc',
      mode: 'max',
      timeAttr: 'epoch',
      maxT: 4,
      reductionFactor: 2,
    });
    // floor(log2(4)) + 1 = 3 rungs: 4, 2, 1
    expect(s.rungMilestones).toEqual([[4, 2, 1]]);
    const ctx = new Trials();
    s.onTrialAdd(ctx, ctx.add('a'));
    s.onTrialAdd(ctx, ctx.add('b'));
    expect(s.onTrialResult(ctx, ctx.get('a'), result('a', 1, { acc: 0.9, epoch: 1 }))).toBe('CONTINUE');
    // pct50([0.9]) = 0.9; 0.5 < 0.9
    expect(s.onTrialResult(ctx, ctx.get('b'), result('b', 1, { acc: 0.5, epoch: 1 }))).toBe('STOP');
  });

  it('brackets > 1: trials spread by Ray weights e^(size − max size), reproducibly per seed', () => {
    // maxT 100, rf 4: bracket 0 has 4 rungs, bracket 1 has 3 → weights 1 and e^−1: P(bracket 0) = 1 / (1 + e^−1) ≈ 0.731
    const run = (seed: number) => {
      const s = new ASHAScheduler({ metric: 'loss', mode: 'min', brackets: 2, seed });
      const ctx = new Trials();
      for (let i = 0; i < 2000; i++) s.onTrialAdd(ctx, ctx.add(`t${i}`));
      return (s.saveState().trials as [string, number][]).map(([, b]) => b);
    };
    const inFirst = run(1).filter((b) => b === 0).length / 2000;
    expect(Math.abs(inFirst - 1 / (1 + Math.exp(-1)))).toBeLessThan(0.03);
    expect(run(1)).toEqual(run(1));
  });

  it('stopLastTrials false: no stop at maxT, and a trial past its rung is not judged again', () => {
    const s = new ASHAScheduler({
      metric: 'loss',
      mode: 'min',
      maxT: 4,
      reductionFactor: 2,
      stopLastTrials: false,
    });
    const ctx = new Trials();
    for (const id of ['a', 'b']) s.onTrialAdd(ctx, ctx.add(id));
    s.onTrialResult(ctx, ctx.get('a'), result('a', 4, { loss: 1 }));
    // b at 4 would be stopped at rung 4 by pct50([−1]) = −1 (−9 < −1)
    expect(s.onTrialResult(ctx, ctx.get('b'), result('b', 4, { loss: 9 }))).toBe('STOP');
    // a at 5: recorded at rung 4 already → break, continue past maxT
    expect(s.onTrialResult(ctx, ctx.get('a'), result('a', 5, { loss: 1 }))).toBe('CONTINUE');
  });

  it('a result without the metric or the time attribute is an error naming both and the keys it has', () => {
    const s = new ASHAScheduler({ metric: 'loss', mode: 'min' });
    const ctx = new Trials();
    s.onTrialAdd(ctx, ctx.add('t'));
    expect(() => s.onTrialResult(ctx, ctx.get('t'), result('t', 1, { los: 1 }))).toThrow(
      /trial t has no "loss"; it reports training_iteration, time_total_s, time_this_iter_s, timestamp, los/,
    );
    const e = new ASHAScheduler({ metric: 'loss', mode: 'min', timeAttr: 'epochs' });
    e.onTrialAdd(ctx, ctx.get('t'));
    expect(() => e.onTrialResult(ctx, ctx.get('t'), result('t', 1, { loss: 1 }))).toThrow(/has no "epochs"/);
  });

  it('needs a metric and mode from itself or the Tuner, and refuses a conflicting one', () => {
    const s = new ASHAScheduler();
    const ctx = new Trials();
    expect(() => s.onTrialAdd(ctx, ctx.add('t'))).toThrow(/needs a metric and a mode/);
    expect(s.setSearchProperties('loss', 'min')).toBe(true);
    s.onTrialAdd(ctx, ctx.get('t'));
    expect(new ASHAScheduler({ metric: 'acc', mode: 'max' }).setSearchProperties('loss', 'min')).toBe(false);
    expect(() => new ASHAScheduler({ metric: 'l', mode: 'mn' as any })).toThrow(
      /mode must be 'min' or 'max'/,
    );
    expect(() => new ASHAScheduler({ reductionFactor: 1 })).toThrow(/reductionFactor must be greater than 1/);
    expect(() => new ASHAScheduler({ gracePeriod: 200 })).toThrow(
      /gracePeriod \(200\) must be <= maxT \(100\)/,
    );
    expect(() => new ASHAScheduler({ maxT: '10' as any })).toThrow(/maxT must be a finite number, got "10"/);
    expect(() => new ASHAScheduler({ timeAttr: '' })).toThrow(/timeAttr must be a non-empty string/);
  });

  it('restored from its saved state, it decides as the original would', () => {
    const make = () => new ASHAScheduler({ metric: 'loss', mode: 'min', maxT: 16 });
    const a = make();
    const ctx = new Trials();
    for (const id of ['A', 'B', 'C']) a.onTrialAdd(ctx, ctx.add(id));
    a.onTrialResult(ctx, ctx.get('A'), result('A', 1, { loss: 5 }));
    a.onTrialResult(ctx, ctx.get('B'), result('B', 1, { loss: 3 }));
    const b = make();
    b.restoreState(JSON.parse(JSON.stringify(a.saveState())));
    // as in the hand-computed sequence: C at loss 4 is below pct75([−5, −3]) = −3.5
    expect(b.onTrialResult(ctx, ctx.get('C'), result('C', 1, { loss: 4 }))).toBe('STOP');
  });
});
