// MedianStoppingRule against a decision sequence computed by hand: a trial stops when its best
// loss is strictly worse than the median of the other trials' running mean loss over
// [gracePeriod, t], among those that reached t; too few of them and it continues or pauses.
import { describe, expect, it } from 'vitest';
import { MedianStoppingRule } from './median-stopping.js';
import { result, Trials } from './testing.js';

describe('MedianStoppingRule', () => {
  it("has Ray's defaults", () => {
    const s = new MedianStoppingRule();
    expect([s.timeAttr, s.gracePeriod, s.minSamplesRequired, s.minTimeSlice, s.hardStop]).toEqual([
      'time_total_s',
      60,
      3,
      0,
      true,
    ]);
  });

  it('stops as computed by hand (grace 2, minSamplesRequired 2, time = time_total_s = iteration)', () => {
    const s = new MedianStoppingRule({ metric: 'loss', mode: 'min', gracePeriod: 2, minSamplesRequired: 2 });
    const ctx = new Trials();
    for (const id of ['A', 'B', 'C', 'D']) s.onTrialAdd(ctx, ctx.add(id));
    const step = (id: string, t: number, loss: number) =>
      s.onTrialResult(ctx, ctx.get(id), result(id, t, { loss }));
    expect(step('A', 1, 10)).toBe('CONTINUE'); // t < grace
    // A alone beyond t = 2, 3, 4: no others → insufficient; nothing PENDING/PAUSED → continue
    expect([step('A', 2, 8), step('A', 3, 6), step('A', 4, 4)]).toEqual(['CONTINUE', 'CONTINUE', 'CONTINUE']);
    expect(step('B', 1, 9)).toBe('CONTINUE');
    expect(step('B', 2, 7)).toBe('CONTINUE'); // others at ≥ 2: [A] → 1 < 2
    step('B', 3, 5);
    step('B', 4, 3);
    expect(step('C', 1, 20)).toBe('CONTINUE');
    // t = 2: A's mean over [2, 2] = 8, B's = 7 → median 7.5; C's best 18 > 7.5 → stop
    expect(step('C', 2, 18)).toBe('STOP');
    expect(step('D', 1, 9.5)).toBe('CONTINUE');
    // t = 2: A 8, B 7, C 18 (C's last time 2 ≥ 2) → median 8; D's best 7.2 < 8 → continue
    expect(step('D', 2, 7.2)).toBe('CONTINUE');
    // t = 3: A (8 + 6) / 2 = 7, B (7 + 5) / 2 = 6 → median 6.5; D's best 6.5 is not strictly worse → continue
    expect(step('D', 3, 6.5)).toBe('CONTINUE');
    // t = 4: A (8 + 6 + 4) / 3 = 6, B (7 + 5 + 3) / 3 = 5 → median 5.5; D's best 6.4 > 5.5 → stop
    expect(step('D', 4, 6.4)).toBe('STOP');
  });

  it('mode max: stops a trial whose best accuracy is below the median', () => {
    const s = new MedianStoppingRule({ metric: 'acc', mode: 'max', gracePeriod: 0, minSamplesRequired: 1 });
    const ctx = new Trials();
    s.onTrialAdd(ctx, ctx.add('a'));
    s.onTrialAdd(ctx, ctx.add('b'));
    s.onTrialResult(ctx, ctx.get('a'), result('a', 1, { acc: 0.8 }));
    expect(s.onTrialResult(ctx, ctx.get('b'), result('b', 1, { acc: 0.9 }))).toBe('CONTINUE');
    s.onTrialAdd(ctx, ctx.add('c'));
    // others at ≥ 1: a 0.8, b 0.9 → median 0.85; c's best 0.7 < 0.85
    expect(s.onTrialResult(ctx, ctx.get('c'), result('c', 1, { acc: 0.7 }))).toBe('STOP');
  });

  it('with too few samples and trials waiting, pauses once per minTimeSlice; hardStop false pauses and then lets it run', () => {
    const s = new MedianStoppingRule({
      metric: 'loss',
      mode: 'min',
      gracePeriod: 0,
      minSamplesRequired: 1,
      minTimeSlice: 5,
      hardStop: false,
    });
    const ctx = new Trials();
    s.onTrialAdd(ctx, ctx.add('a'));
    s.onTrialAdd(ctx, ctx.add('w', {}, 'PENDING'));
    expect(s.onTrialResult(ctx, ctx.get('a'), result('a', 1, { loss: 1 }))).toBe('PAUSE'); // 1 − (−∞) > 5
    expect(s.onTrialResult(ctx, ctx.get('a'), result('a', 4, { loss: 1 }))).toBe('CONTINUE'); // 4 − 1 = 3 ≤ 5
    expect(s.onTrialResult(ctx, ctx.get('a'), result('a', 7, { loss: 1 }))).toBe('PAUSE'); // 7 − 1 = 6 > 5
    ctx.set('w', { status: 'RUNNING' });
    // w at t = 7 with loss 9: others [a] with mean over [0, 7] = 1 → median 1; 9 worse → PAUSE (hardStop false)
    expect(s.onTrialResult(ctx, ctx.get('w'), result('w', 7, { loss: 9 }))).toBe('PAUSE');
    expect(s.onTrialResult(ctx, ctx.get('w'), result('w', 8, { loss: 9 }))).toBe('CONTINUE'); // judged once
  });

  it('a result without the metric names it; restore keeps the history', () => {
    const s = new MedianStoppingRule({ metric: 'loss', mode: 'min', gracePeriod: 2, minSamplesRequired: 2 });
    const ctx = new Trials();
    s.onTrialAdd(ctx, ctx.add('x'));
    expect(() => s.onTrialResult(ctx, ctx.get('x'), result('x', 1, { lss: 1 }))).toThrow(
      /has no "loss"; it reports .*lss/,
    );
    for (const [id, l] of [
      ['A', 8],
      ['B', 7],
    ] as const) {
      s.onTrialAdd(ctx, ctx.add(id));
      s.onTrialResult(ctx, ctx.get(id), result(id, 2, { loss: l }));
    }
    const r = new MedianStoppingRule({ metric: 'loss', mode: 'min', gracePeriod: 2, minSamplesRequired: 2 });
    r.restoreState(JSON.parse(JSON.stringify(s.saveState())));
    ctx.add('C');
    expect(r.onTrialResult(ctx, ctx.get('C'), result('C', 2, { loss: 18 }))).toBe('STOP'); // median(8, 7) = 7.5
  });
});
