// PopulationBasedTraining against a decision sequence computed by hand (perturbationInterval 10,
// quantileFraction 0.25, resampleProbability 0 and one factor, so explore is deterministic), the
// explore rules for lists, domains, functions, integers and nested keys, and its clear errors.
import { describe, expect, it } from 'vitest';
import { Random } from '../search/random.js';
import { choice, randint, uniform } from '../search/space.js';
import { PopulationBasedTraining } from './pbt.js';
import { explore } from './pbt-explore.js';
import { result, Trials } from './testing.js';

describe('PopulationBasedTraining', () => {
  it("has Ray's defaults", () => {
    const p = new PopulationBasedTraining({ hyperparamMutations: { lr: uniform(0, 1) } });
    expect([
      p.timeAttr,
      p.perturbationInterval,
      p.quantileFraction,
      p.resampleProbability,
      p.perturbationFactors,
    ]).toEqual(['time_total_s', 60, 0.25, 0.25, [1.2, 0.8]]);
  });

  it('exploits the bottom quantile from a top trial with a checkpoint, as computed by hand', () => {
    const p = new PopulationBasedTraining({
      metric: 'loss',
      mode: 'min',
      perturbationInterval: 10,
      hyperparamMutations: { lr: uniform(0, 1) },
      resampleProbability: 0,
      perturbationFactors: [2],
      seed: 1,
    });
    const ctx = new Trials();
    const lrs = { A: 0.1, B: 0.2, C: 0.3, D: 0.4 };
    for (const [id, lr] of Object.entries(lrs)) p.onTrialAdd(ctx, ctx.add(id, { lr }));
    ctx.set('D', { hasCheckpoint: true });
    const step = (id: string, t: number, loss: number) =>
      p.onTrialResult(ctx, ctx.get(id), result(id, t / 5, { loss }, t));
    // t = 5: 5 − 0 < 10 since the last perturbation (0) → continue
    expect(['A', 'B', 'C', 'D'].map((id, i) => step(id, 5, 4 - i))).toEqual([
      'CONTINUE',
      'CONTINUE',
      'CONTINUE',
      'CONTINUE',
    ]);
    // t = 10: A alone scored → no quantiles. B: scores [A −4, B −3], k = ceil(2 · 0.25) = 1 → lower [A], upper [B]
    expect(step('A', 10, 4)).toBe('CONTINUE');
    expect(step('B', 10, 3)).toBe('CONTINUE');
    expect(step('C', 10, 2)).toBe('CONTINUE'); // [A, B, C], k = ceil(0.75) = 1: C is top
    expect(step('D', 10, 1)).toBe('CONTINUE'); // [A, B, C, D], k = 1: D top
    // t = 20: A −3.5 still the worst of [A −3.5, B −3, C −2, D −1] → lower [A], upper [D]; D has a
    // checkpoint → exploit D with lr 0.4 · 2 = 0.8
    expect(step('A', 20, 3.5)).toEqual({ exploit: { fromTrialId: 'D', config: { lr: 0.8 } } });
    expect(p.numPerturbations).toBe(1);
    // A took D's perturbation time (10): its next result at t = 20 is due again, 20 − 10 ≥ 10
    ctx.set('A', { config: { lr: 0.8 } });
    // now B −5 is the worst of [B −5, A −3.5(kept), C −2, D −1]; D still top, but without a checkpoint → no exploit
    ctx.set('D', { hasCheckpoint: false });
    expect(step('B', 20, 5)).toBe('CONTINUE');
    // a trial waiting (PENDING) → a trial at its perturbation point that is not exploited pauses
    ctx.add('E', { lr: 0.5 }, 'PENDING');
    p.onTrialAdd(ctx, ctx.get('E'));
    expect(step('C', 20, 2)).toBe('PAUSE');
    ctx.set('C', { status: 'PAUSED' });
    // fair share: E (lastTrainTime 0) runs before C (20)
    expect(p.chooseTrialToRun(ctx)?.id).toBe('E');
  });

  it('explores lists by resample or a shift to a neighbour, domains and functions by a factor, integers stay integers', () => {
    const rng = new Random(5);
    const opts = { resampleProbability: 0, perturbationFactors: [1.2, 0.8] };
    const list = [16, 32, 64, 128];
    for (let i = 0; i < 50; i++) {
      const c = explore(
        { batch: 32, lr: 0.5, layers: 3, width: 10, opt: { m: 0.9 } },
        {
          batch: list,
          lr: uniform(0, 1),
          layers: randint(1, 10),
          width: () => 7,
          opt: { m: uniform(0, 1) },
        },
        rng,
        opts,
      );
      expect([16, 64]).toContain(c.batch); // one place left or right of 32
      expect([0.6, 0.4].some((v) => Math.abs((c.lr as number) - v) < 1e-12)).toBe(true);
      expect([3, 2]).toContain(c.layers); // trunc(3 · 1.2) = 3, trunc(3 · 0.8) = 2
      expect([12, 8]).toContain(c.width); // a function's old value 10 was an integer
      expect([0.9 * 1.2, 0.9 * 0.8].some((v) => Math.abs((c.opt as any).m - v) < 1e-12)).toBe(true);
    }
    // resampleProbability 1: every value is drawn afresh; a value not in its list is resampled too
    const r = explore({ a: 'x', b: 5 }, { a: ['p', 'q'], b: () => 99 }, rng, {
      resampleProbability: 1,
      perturbationFactors: [2],
    });
    expect(['p', 'q']).toContain(r.a);
    expect(r.b).toBe(99);
    const custom = explore({ a: 1 }, { a: [1, 2] }, rng, {
      ...opts,
      customExploreFn: (c) => ({ ...c, extra: true }),
    });
    expect(custom.extra).toBe(true);
  });

  it('clear errors: no mutations, bad fractions, a mutated key missing from the config, a result without the metric', () => {
    expect(() => new PopulationBasedTraining()).toThrow(/give hyperparamMutations or customExploreFn/);
    expect(() => new PopulationBasedTraining({ hyperparamMutations: { a: [] } })).toThrow(
      /hyperparamMutations.a is an empty list/,
    );
    expect(() => new PopulationBasedTraining({ hyperparamMutations: { a: 3 as any } })).toThrow(
      /must be a list, a tune.\* domain/,
    );
    expect(
      () => new PopulationBasedTraining({ hyperparamMutations: { a: [1] }, quantileFraction: 0.6 }),
    ).toThrow(/between 0 and 0.5/);
    expect(
      () =>
        new PopulationBasedTraining({ hyperparamMutations: { a: [1] }, perturbationInterval: '60' as any }),
    ).toThrow(/perturbationInterval must be a finite number, got "60"/);
    const p = new PopulationBasedTraining({
      metric: 'loss',
      mode: 'min',
      hyperparamMutations: { lr: choice([1, 2]) },
    });
    const ctx = new Trials();
    expect(() => p.onTrialAdd(ctx, ctx.add('t', { other: 1 }))).toThrow(
      /hyperparamMutations has "lr" but trial t's config does not; add lr to paramSpace/,
    );
    p.onTrialAdd(ctx, ctx.add('u', { lr: 1 }));
    expect(() => p.onTrialResult(ctx, ctx.get('u'), result('u', 1, { acc: 1 }))).toThrow(
      /has no "loss"; it reports .*acc/,
    );
  });

  it('burnInPeriod: no perturbation before it, even past the interval', () => {
    const p = new PopulationBasedTraining({
      metric: 'loss',
      mode: 'min',
      perturbationInterval: 5,
      burnInPeriod: 15,
      hyperparamMutations: { lr: [1, 2] },
      seed: 2,
    });
    const ctx = new Trials();
    p.onTrialAdd(ctx, ctx.add('a', { lr: 1 }));
    p.onTrialAdd(ctx, ctx.add('b', { lr: 2 }, 'RUNNING'));
    ctx.set('b', { hasCheckpoint: true });
    p.onTrialResult(ctx, ctx.get('b'), result('b', 1, { loss: 0 }, 16)); // b scored at 16
    // a at 10: past the interval (10 − 0 ≥ 5) but inside the burn-in (10 < 15) → continue, unscored
    expect(p.onTrialResult(ctx, ctx.get('a'), result('a', 1, { loss: 9 }, 10))).toBe('CONTINUE');
    // a at 16: [a −9, b 0], k = 1 → a is the bottom, b the top with a checkpoint → exploit
    expect(p.onTrialResult(ctx, ctx.get('a'), result('a', 2, { loss: 9 }, 16))).toMatchObject({
      exploit: { fromTrialId: 'b' },
    });
  });

  it('restored, it keeps each trial perturbation clock', () => {
    const make = () =>
      new PopulationBasedTraining({
        metric: 'loss',
        mode: 'min',
        perturbationInterval: 10,
        hyperparamMutations: { lr: [1, 2] },
        seed: 3,
      });
    const a = make();
    const ctx = new Trials();
    a.onTrialAdd(ctx, ctx.add('x', { lr: 1 }));
    a.onTrialAdd(ctx, ctx.add('y', { lr: 2 }));
    a.onTrialResult(ctx, ctx.get('x'), result('x', 1, { loss: 9 }, 10));
    const b = make();
    b.restoreState(JSON.parse(JSON.stringify(a.saveState())));
    // a restoring Tuner may add its trials again: the clocks stay
    b.onTrialAdd(ctx, ctx.get('x'));
    b.onTrialAdd(ctx, ctx.get('y'));
    ctx.set('y', { hasCheckpoint: true });
    // y at t = 10 scores −1, x kept −9: lower [x], upper [y]; y's own result is not an exploit
    expect(b.onTrialResult(ctx, ctx.get('y'), result('y', 1, { loss: 1 }, 10))).toBe('CONTINUE');
    // x at t = 15: only 15 − 10 = 5 since its last perturbation → continue
    expect(b.onTrialResult(ctx, ctx.get('x'), result('x', 2, { loss: 9 }, 15))).toBe('CONTINUE');
    // x at t = 20: lower → exploit y
    expect(b.onTrialResult(ctx, ctx.get('x'), result('x', 3, { loss: 9 }, 20))).toMatchObject({
      exploit: { fromTrialId: 'y' },
    });
  });
});
