// TPESearch: better than random search on average over fixed seeds (a 1-D quadratic), its
// suggestions stay inside every kind of domain and concentrate where the good trials were,
// reproducible per seed and across saveState/restoreState, and clear errors for a grid, a
// conflicting space and a result without the metric.
import { describe, expect, it } from 'vitest';
import type { TrialConfig, TrialResult } from '../types.js';
import { BasicVariantGenerator } from './basic-variant.js';
import { FINISHED, type Searcher } from './searcher.js';
import {
  choice,
  gridSearch,
  lograndint,
  loguniform,
  qrandint,
  qrandn,
  quniform,
  randint,
  randn,
  sampleFrom,
  uniform,
} from './space.js';
import { TPESearch } from './tpe.js';

const res = (id: string, metrics: Record<string, unknown>): TrialResult => ({
  trial_id: id,
  training_iteration: 1,
  time_total_s: 1,
  time_this_iter_s: 1,
  timestamp: 0,
  ...metrics,
});

/** Runs n sequential trials of f under searcher s; returns every config and the best loss. */
function optimise(
  s: Searcher,
  space: Record<string, unknown>,
  f: (c: TrialConfig) => number,
  n: number,
  seed: number,
) {
  s.setSearchProperties({ metric: 'loss', mode: 'min', paramSpace: space, numSamples: n, seed });
  const configs: TrialConfig[] = [];
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const c = s.suggest(`t${i}`);
    if (c === null || c === FINISHED) throw new Error(`no config at ${i}`);
    configs.push(c);
    const loss = f(c);
    best = Math.min(best, loss);
    s.onTrialComplete(`t${i}`, res(`t${i}`, { loss }));
  }
  return { configs, best };
}

describe('TPESearch', () => {
  it('beats random search on a 1-D quadratic, on average over seeds 1..10 (30 trials each)', () => {
    const space = { x: uniform(-10, 10) };
    const f = (c: TrialConfig) => ((c.x as number) - 3.3) ** 2;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const tpe = seeds.map((seed) => optimise(new TPESearch(), space, f, 30, seed).best);
    const rnd = seeds.map((seed) => optimise(new BasicVariantGenerator(), space, f, 30, seed).best);
    expect(mean(tpe)).toBeLessThan(mean(rnd));
  });

  it('after its startup trials, suggests near the good region and the good category', () => {
    const space = { x: uniform(0, 100), kind: choice(['bad', 'good', 'worse']) };
    const f = (c: TrialConfig) => Math.abs((c.x as number) - 70) + (c.kind === 'good' ? 0 : 50);
    const { configs } = optimise(new TPESearch({ nStartupTrials: 10 }), space, f, 60, 4);
    const later = configs.slice(30);
    // random would give 'good' a third of the time and |x − 70| < 15 three tenths of it
    expect(later.filter((c) => c.kind === 'good').length / later.length).toBeGreaterThan(0.6);
    expect(later.filter((c) => Math.abs((c.x as number) - 70) < 15).length / later.length).toBeGreaterThan(
      0.6,
    );
  });

  it('keeps every suggestion inside its domain: log, quantized, integer, normal, nested and sampleFrom', () => {
    const space = {
      lr: loguniform(1e-4, 1e-1),
      drop: quniform(0, 0.5, 0.1),
      layers: randint(1, 5),
      width: qrandint(16, 128, 16),
      batch: lograndint(8, 512, 2),
      noise: randn(0, 1),
      nested: { act: choice(['relu', 'tanh']), list: [uniform(0, 1), 'const'] },
      double: sampleFrom((s) => (s.config.layers as number) * 2),
    };
    const f = (c: any) => Math.abs(Math.log10(c.lr) + 2) + c.drop + c.layers + c.width / 100 + c.noise ** 2;
    const { configs } = optimise(new TPESearch({ nStartupTrials: 5 }), space, f, 40, 9);
    for (const c of configs as any[]) {
      expect(c.lr).toBeGreaterThanOrEqual(1e-4);
      expect(c.lr).toBeLessThanOrEqual(1e-1);
      expect([0, 0.1, 0.2, 0.3, 0.4, 0.5]).toContain(c.drop);
      expect([1, 2, 3, 4]).toContain(c.layers);
      expect(c.width % 16).toBe(0);
      expect(c.width).toBeGreaterThanOrEqual(16);
      expect(c.width).toBeLessThanOrEqual(128);
      expect(Number.isInteger(c.batch) && c.batch >= 8 && c.batch < 512).toBe(true);
      expect(Number.isFinite(c.noise)).toBe(true);
      expect(['relu', 'tanh']).toContain(c.nested.act);
      expect(c.nested.list[1]).toBe('const');
      expect(c.double).toBe(c.layers * 2);
    }
  });

  it('models quantized ranges through negative values: valid suggestions, and better than random on them', () => {
    const space = { q: quniform(-2, 2, 0.5), i: qrandint(-21, 12, 3), n: qrandn(0, 2, 0.5) };
    const f = (c: any) => (c.q + 1.5) ** 2 + (c.i + 9) ** 2 / 10 + (c.n + 1) ** 2;
    const seeds = [1, 2, 3, 4, 5, 6];
    const tpe = seeds.map((seed) => optimise(new TPESearch({ nStartupTrials: 8 }), space, f, 40, seed));
    for (const { configs } of tpe) {
      for (const c of configs as any[]) {
        expect(c.q >= -2 && c.q <= 2 && Number.isInteger(c.q * 2)).toBe(true);
        expect(c.i >= -21 && c.i <= 12 && c.i % 3 === 0).toBe(true);
        expect(Number.isInteger(c.n * 2)).toBe(true);
      }
    }
    // the model reaches the whole range, below 0 too (a cell edge clamped at v/2 once cut it at −1 and −10.5)
    const modelled = tpe.flatMap((r) => r.configs.slice(8)) as any[];
    expect(modelled.some((c) => c.q < -1)).toBe(true);
    expect(modelled.some((c) => c.i < -10)).toBe(true);
    const rnd = seeds.map((seed) => optimise(new BasicVariantGenerator(), space, f, 40, seed).best);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(tpe.map((r) => r.best))).toBeLessThan(mean(rnd));
  });

  it('constantLiar: configs suggested while others run spread out instead of repeating the same spot', () => {
    const space = { x: uniform(0, 100) };
    const spread = (liar: boolean) => {
      const s = new TPESearch({ nStartupTrials: 10, constantLiar: liar });
      s.setSearchProperties({ metric: 'loss', mode: 'min', paramSpace: space, numSamples: 30, seed: 8 });
      for (let i = 0; i < 10; i++) {
        const c = s.suggest(`s${i}`) as TrialConfig;
        s.onTrialComplete(`s${i}`, res(`s${i}`, { loss: Math.abs((c.x as number) - 40) }));
      }
      // 8 suggestions at once, none completed (8 trials running in parallel)
      const xs = Array.from({ length: 8 }, (_, i) => (s.suggest(`p${i}`) as TrialConfig).x as number);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    };
    expect(spread(true)).toBeGreaterThan(spread(false));
  });

  it('is reproducible per seed, and a restored searcher continues the same sequence', () => {
    const space = { x: uniform(0, 1), k: choice([1, 2, 3]) };
    const f = (c: TrialConfig) => (c.x as number) + (c.k as number);
    const a = optimise(new TPESearch({ nStartupTrials: 3 }), space, f, 15, 21).configs;
    expect(optimise(new TPESearch({ nStartupTrials: 3 }), space, f, 15, 21).configs).toEqual(a);
    expect(optimise(new TPESearch({ nStartupTrials: 3 }), space, f, 15, 22).configs).not.toEqual(a);

    const first = new TPESearch({ nStartupTrials: 3 });
    first.setSearchProperties({ metric: 'loss', mode: 'min', paramSpace: space, numSamples: 15, seed: 21 });
    for (let i = 0; i < 8; i++) {
      const c = first.suggest(`t${i}`) as TrialConfig;
      first.onTrialComplete(`t${i}`, res(`t${i}`, { loss: f(c) }));
    }
    const restored = new TPESearch({ nStartupTrials: 3 });
    restored.setSearchProperties({ metric: 'loss', mode: 'min', paramSpace: space, numSamples: 15 });
    restored.restoreState(JSON.parse(JSON.stringify(first.saveState())));
    expect(restored.observationCount).toBe(8);
    expect(restored.suggest('t8')).toEqual(a[8]);
  });

  it('mode max maximises; FINISHED after numSamples; pointsToEvaluate first', () => {
    const s = new TPESearch({ pointsToEvaluate: [{ x: 0.5 }, {}] });
    const r = optimise(s, { x: uniform(0, 1) }, (c) => c.x as number, 3, 1);
    expect(r.configs[0]).toEqual({ x: 0.5 });
    expect(s.suggest('more')).toBe(FINISHED);
    const space = { x: uniform(0, 10) };
    const max = new TPESearch({ nStartupTrials: 5 });
    max.setSearchProperties({ metric: 'score', mode: 'max', paramSpace: space, numSamples: 40, seed: 2 });
    const xs: number[] = [];
    for (let i = 0; i < 40; i++) {
      const c = max.suggest(`t${i}`) as TrialConfig;
      xs.push(c.x as number);
      max.onTrialComplete(`t${i}`, res(`t${i}`, { score: c.x }));
    }
    const late = xs.slice(20).reduce((a, b) => a + b, 0) / 20;
    expect(late).toBeGreaterThan(7); // random's mean would be 5
  });

  it('refuses a grid, a conflicting space and metric, and a result without its metric', () => {
    expect(() =>
      new TPESearch().setSearchProperties({
        metric: 'l',
        mode: 'min',
        paramSpace: { a: { b: gridSearch([1, 2]) } },
        numSamples: 1,
      }),
    ).toThrow(/TPESearch cannot search gridSearch at a.b: TPE samples.*Use tune.choice/);
    const own = new TPESearch({ space: { x: uniform(0, 1) } });
    expect(
      own.setSearchProperties({ metric: 'l', mode: 'min', paramSpace: { y: uniform(0, 1) }, numSamples: 1 }),
    ).toBe(false);
    expect(
      new TPESearch({ metric: 'acc', mode: 'max' }).setSearchProperties({
        metric: 'loss',
        mode: 'min',
        paramSpace: {},
        numSamples: 1,
      }),
    ).toBe(false);
    const s = new TPESearch();
    s.setSearchProperties({ metric: 'loss', mode: 'min', paramSpace: { x: uniform(0, 1) }, numSamples: 2 });
    s.suggest('t0');
    expect(() => s.onTrialComplete('t0', res('t0', { acc: 1 }))).toThrow(
      /TPESearch: the result of trial t0 has no "loss"; it reports .*acc/,
    );
    expect(() => new TPESearch({ gamma: 1 })).toThrow(/gamma must be in \(0, 1\)/);
    expect(() => new TPESearch({ priorWeight: '1' as any })).toThrow(
      /priorWeight must be a positive number, got "1"/,
    );
    const pts = new TPESearch({ pointsToEvaluate: [{ x: 'a' }] });
    pts.setSearchProperties({ metric: 'l', mode: 'min', paramSpace: { x: uniform(0, 1) }, numSamples: 1 });
    expect(() => pts.suggest('t')).toThrow(
      /pointsToEvaluate gives "a" for x, which its domain cannot produce/,
    );
  });
});
