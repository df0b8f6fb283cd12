// HyperBandScheduler against a decision sequence computed by hand (maxT 9, eta 3): bracket shapes,
// trials pausing at the round time until the bracket is level, the halving stopping the worse
// (the reporter by STOP, paused ones through stopTrial), the better resumed by chooseTrialToRun,
// and a finished bracket stopping its paused trials, also when nothing is left running.
import { describe, expect, it } from 'vitest';
import { HyperBandScheduler } from './hyperband.js';
import { result, Trials } from './testing.js';

class StoppingTrials extends Trials {
  readonly stopped: string[] = [];
  stopTrial(id: string): void {
    this.stopped.push(id);
    this.set(id, { status: 'TERMINATED' });
  }
}

describe('HyperBandScheduler', () => {
  it("has Ray's defaults and bracket shapes: maxT 81, eta 3 → 5 brackets", () => {
    const s = new HyperBandScheduler({ metric: 'loss', mode: 'min' });
    expect([s.timeAttr, s.maxT, s.eta]).toEqual(['training_iteration', 81, 3]);
    // sMax1 = round(log3 81) + 1 = 5; n0 = ceil(5 / (s + 1) · 3^s), r0 = trunc(81 · 3^−s)
    expect([0, 1, 2, 3, 4].map((k) => s.bracketShape(k))).toEqual([
      { trials: 5, startT: 81 },
      { trials: 8, startT: 27 }, // ceil(2.5 · 3) = 8
      { trials: 15, startT: 9 }, // ceil(5/3 · 9) = 15
      { trials: 34, startT: 3 }, // ceil(1.25 · 27) = 34
      { trials: 81, startT: 1 },
    ]);
  });

  it('pauses, halves, stops and resumes as computed by hand (maxT 9, eta 3, min loss)', () => {
    const s = new HyperBandScheduler({ metric: 'loss', mode: 'min', maxT: 9, reductionFactor: 3 });
    // sMax1 = round(log3 9) + 1 = 3: bracket 0 takes 3 trials from 9, bracket 1 takes ceil(1.5 · 3) = 5 from 3
    const ctx = new StoppingTrials();
    for (let i = 0; i < 8; i++) s.onTrialAdd(ctx, ctx.add(`T${i}`, {}, i < 3 ? 'PENDING' : 'RUNNING'));
    const step = (id: string, it: number, loss: number) => {
      const d = s.onTrialResult(ctx, ctx.get(id), result(id, it, { loss }));
      if (d === 'PAUSE') ctx.set(id, { status: 'PAUSED' });
      if (d === 'STOP') ctx.set(id, { status: 'TERMINATED' });
      return d;
    };
    expect(step('T3', 1, 6)).toBe('CONTINUE'); // 1 < round time 3
    // each reaching 3 before the others pauses
    expect([step('T3', 3, 5), step('T4', 3, 1), step('T5', 3, 4), step('T6', 3, 2)]).toEqual([
      'PAUSE',
      'PAUSE',
      'PAUSE',
      'PAUSE',
    ]);
    // T7 levels the bracket: n = ceil(5 / 3) = 2 keep, by −loss: T3 −5, T5 −4, T7 −3 | T6 −2, T4 −1
    expect(step('T7', 3, 3)).toBe('STOP');
    expect(ctx.stopped).toEqual(['T3', 'T5']);
    // bracket 0 (no results, completion 0) comes first: its PENDING T0
    expect(s.chooseTrialToRun(ctx)?.id).toBe('T0');
    for (const id of ['T0', 'T1', 'T2']) ctx.set(id, { status: 'RUNNING' });
    // then bracket 1's good paused trials, in the order they joined
    expect(s.chooseTrialToRun(ctx)?.id).toBe('T4');
    ctx.set('T4', { status: 'RUNNING' });
    expect(s.chooseTrialToRun(ctx)?.id).toBe('T6');
    ctx.set('T6', { status: 'RUNNING' });
    // round time now r = min(3 · 3, 9) = 9
    expect(step('T4', 6, 0.8)).toBe('CONTINUE');
    expect(step('T4', 9, 0.5)).toBe('PAUSE');
    // T6 at 9: no halvings left and the round done → finished: T6 stops, paused T4 stopped
    expect(step('T6', 9, 1.5)).toBe('STOP');
    expect(ctx.stopped).toEqual(['T3', 'T5', 'T4']);
    // bracket 0 never halves: 9 is its only round
    expect([step('T0', 9, 1), step('T1', 9, 2), step('T2', 9, 3)]).toEqual(['PAUSE', 'PAUSE', 'STOP']);
    expect(ctx.stopped).toEqual(['T3', 'T5', 'T4', 'T0', 'T1']);
  });

  it('fills the band bracket by bracket, then starts a new band', () => {
    const s = new HyperBandScheduler({ metric: 'loss', mode: 'min', maxT: 9, reductionFactor: 3 });
    const ctx = new StoppingTrials();
    // 3 + 5 + 9 = 17 trials fill band 0; the 18th opens band 1's bracket 0
    for (let i = 0; i < 18; i++) s.onTrialAdd(ctx, ctx.add(`t${i}`, {}, 'PENDING'));
    const saved = s.saveState();
    expect(saved.bands.map((b) => b.map((x) => x?.all.length))).toEqual([[3, 5, 9], [1]]);
  });

  it('counts brackets with numpy rounding: log4(32) = 2.5 rounds to 2, so 3 brackets a band', () => {
    const s = new HyperBandScheduler({ metric: 'loss', mode: 'min', maxT: 32, reductionFactor: 4 });
    const ctx = new StoppingTrials();
    // brackets of ceil(3/1) = 3, ceil(3/2 · 4) = 6 and ceil(3/3 · 16) = 16 trials: 25 fill the band
    for (let i = 0; i < 26; i++) s.onTrialAdd(ctx, ctx.add(`t${i}`, {}, 'PENDING'));
    expect(s.saveState().bands.map((b) => b.map((x) => x?.all.length))).toEqual([[3, 6, 16], [1]]);
  });

  it('a bracket left with only paused trials (one errored) is finished by chooseTrialToRun', () => {
    const s = new HyperBandScheduler({ metric: 'loss', mode: 'min', maxT: 9, reductionFactor: 3 });
    const ctx = new StoppingTrials();
    for (const id of ['A', 'B', 'C']) s.onTrialAdd(ctx, ctx.add(id));
    expect(s.onTrialResult(ctx, ctx.get('A'), result('A', 9, { loss: 1 }))).toBe('PAUSE');
    ctx.set('A', { status: 'PAUSED' });
    expect(s.onTrialResult(ctx, ctx.get('B'), result('B', 9, { loss: 2 }))).toBe('PAUSE');
    ctx.set('B', { status: 'PAUSED' });
    ctx.set('C', { status: 'ERROR' });
    s.onTrialError(ctx, ctx.get('C'));
    expect(s.chooseTrialToRun(ctx)).toBeUndefined();
    expect(ctx.stopped).toEqual(['A', 'B']);
  });

  it('says so when the Tuner gives no stopTrial, and when the metric is missing; restore continues', () => {
    const s = new HyperBandScheduler({ metric: 'loss', mode: 'min', maxT: 9, reductionFactor: 3 });
    const plain = new Trials();
    for (const id of ['A', 'B', 'C']) s.onTrialAdd(plain, plain.add(id));
    expect(() => s.onTrialResult(plain, plain.get('A'), result('A', 1, { acc: 1 }))).toThrow(
      /has no "loss"; it reports .*acc/,
    );
    s.onTrialResult(plain, plain.get('A'), result('A', 9, { loss: 1 }));
    plain.set('A', { status: 'PAUSED' });
    const r = new HyperBandScheduler({ metric: 'loss', mode: 'min', maxT: 9, reductionFactor: 3 });
    r.restoreState(JSON.parse(JSON.stringify(s.saveState())));
    for (const id of ['A', 'B', 'C']) r.onTrialAdd(plain, plain.get(id)); // added again by a restoring Tuner: no new bracket
    expect(r.saveState().bands.map((b) => b.map((x) => x?.all.length))).toEqual([[3]]);
    expect(r.onTrialResult(plain, plain.get('B'), result('B', 9, { loss: 1 }))).toBe('PAUSE');
    plain.set('B', { status: 'PAUSED' });
    expect(() => r.onTrialResult(plain, plain.get('C'), result('C', 9, { loss: 1 }))).toThrow(
      /needs SchedulerContext.stopTrial/,
    );
  });
});
