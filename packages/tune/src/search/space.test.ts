// Each search-space leaf draws from the distribution its name promises (bounds, quantization,
// Ray's inclusive/exclusive upper bounds), reproducibly for a seed, and refuses bounds it cannot
// sample from at definition. The distribution checks are chi-square statistics over fixed seeds,
// so they are deterministic: the critical values are the 0.1 % points of the chi-square law.
import { describe, expect, it } from 'vitest';
import { Random } from './random.js';
import {
  choice,
  type Domain,
  gridSearch,
  lograndint,
  loguniform,
  qlograndint,
  qloguniform,
  qrandint,
  qrandn,
  quniform,
  randint,
  randn,
  sampleFrom,
  uniform,
} from './space.js';

const N = 20_000;

function draw<T>(d: Domain<T>, seed = 7, n = N): T[] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => d.sample(rng));
}

/** Pearson's statistic of observed counts against expected probabilities. */
function chiSquare(counts: number[], probs: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((s, c, i) => s + (c - n * probs[i]!) ** 2 / (n * probs[i]!), 0);
}

function bins(values: number[], lo: number, hi: number, k: number): number[] {
  const counts = new Array(k).fill(0);
  for (const v of values) counts[Math.min(k - 1, Math.floor(((v - lo) / (hi - lo)) * k))]++;
  return counts;
}

// 0.1 % critical values of chi-square: 9 degrees of freedom 27.88, 4 → 18.47, 7 → 24.32.
const CHI2_9 = 27.88;

describe('uniform / quniform', () => {
  it('uniform(2, 5) stays in [2, 5) and is flat over ten bins', () => {
    const xs = draw(uniform(2, 5));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...xs)).toBeLessThan(5);
    expect(chiSquare(bins(xs, 2, 5, 10), new Array(10).fill(0.1))).toBeLessThan(CHI2_9);
  });

  it('quniform(0, 1, 0.25) gives only multiples of 0.25, the ends half as often (rounding to nearest)', () => {
    const xs = draw(quniform(0, 1, 0.25));
    const values = [...new Set(xs)].sort();
    expect(values).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // u in [0, 0.125) → 0, [0.125, 0.375) → 0.25, ..., [0.875, 1) → 1: probabilities 1/8, 1/4, 1/4, 1/4, 1/8.
    const counts = values.map((v) => xs.filter((x) => x === v).length);
    expect(chiSquare(counts, [0.125, 0.25, 0.25, 0.25, 0.125])).toBeLessThan(18.47);
  });

  it('quantized floats carry no float noise (0.1 steps print as 0.3, not 0.30000000000000004)', () => {
    for (const x of draw(quniform(0, 1, 0.1), 3, 500)) expect(String(x).length).toBeLessThanOrEqual(3);
  });
});

describe('loguniform / qloguniform', () => {
  it('loguniform(1e-4, 1e-1) is flat in log10 over [-4, -1)', () => {
    const xs = draw(loguniform(1e-4, 1e-1));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(1e-4);
    expect(Math.max(...xs)).toBeLessThan(1e-1);
    const logs = xs.map(Math.log10);
    expect(chiSquare(bins(logs, -4, -1, 10), new Array(10).fill(0.1))).toBeLessThan(CHI2_9);
  });

  it('loguniform base 2 over [1, 1024) puts each octave equally often', () => {
    const xs = draw(loguniform(1, 1024, 2));
    const counts = bins(xs.map(Math.log2), 0, 10, 10);
    expect(chiSquare(counts, new Array(10).fill(0.1))).toBeLessThan(CHI2_9);
  });

  it('qloguniform(1, 100, 1) gives whole numbers in [1, 100]', () => {
    const xs = draw(qloguniform(1, 100, 1), 5, 2000);
    for (const x of xs) {
      expect(Number.isInteger(x)).toBe(true);
      expect(x).toBeGreaterThanOrEqual(1);
      expect(x).toBeLessThanOrEqual(100);
    }
  });
});

describe('randn / qrandn', () => {
  it('randn(3, 2) has the normal law: mean 3, sd 2, and the 1σ/2σ band masses', () => {
    const xs = draw(randn(3, 2));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean - 3)).toBeLessThan(0.05);
    expect(Math.abs(sd - 2)).toBeLessThan(0.05);
    // bands (-inf,-2σ) [-2σ,-σ) [-σ,0) [0,σ) [σ,2σ) [2σ,inf) hold 2.275, 13.59, 34.13, 34.13, 13.59, 2.275 %.
    const z = xs.map((x) => (x - 3) / 2);
    const edges = [-2, -1, 0, 1, 2];
    const counts = new Array(6).fill(0);
    for (const v of z) counts[edges.filter((e) => v >= e).length]++;
    const p = [0.02275, 0.13591, 0.34134, 0.34134, 0.13591, 0.02275];
    expect(chiSquare(counts, p)).toBeLessThan(20.52); // 5 degrees of freedom
  });

  it('qrandn(0, 1, 0.5) lands on multiples of 0.5', () => {
    for (const x of draw(qrandn(0, 1, 0.5), 11, 2000)) expect(Number.isInteger(x * 2)).toBe(true);
  });
});

describe('randint / qrandint / lograndint', () => {
  it('randint(0, 5) gives 0..4 (upper exclusive, as Ray) equally often', () => {
    const xs = draw(randint(0, 5));
    expect([...new Set(xs)].sort()).toEqual([0, 1, 2, 3, 4]);
    const counts = [0, 1, 2, 3, 4].map((v) => xs.filter((x) => x === v).length);
    expect(chiSquare(counts, new Array(5).fill(0.2))).toBeLessThan(18.47);
  });

  it('qrandint(-21, 12, 3) gives multiples of 3 from -21 to 12 inclusive (Ray: upper inclusive)', () => {
    const xs = draw(qrandint(-21, 12, 3));
    const values = [...new Set(xs)].sort((a, b) => a - b);
    expect(values).toEqual([-21, -18, -15, -12, -9, -6, -3, 0, 3, 6, 9, 12]);
  });

  it('lograndint(1, 1000) is flat per decade and stays below 1000', () => {
    const xs = draw(lograndint(1, 1000));
    for (const x of xs) expect(Number.isInteger(x)).toBe(true);
    expect(Math.max(...xs)).toBeLessThan(1000);
    // floor(10^u), u uniform on [0, 3): [1,10) [10,100) [100,1000) each a third.
    const counts = [0, 1, 2].map((d) => xs.filter((x) => x >= 10 ** d && x < 10 ** (d + 1)).length);
    expect(chiSquare(counts, [1 / 3, 1 / 3, 1 / 3])).toBeLessThan(13.82);
  });

  it('qlograndint(10, 100, 10) gives multiples of 10 up to 100', () => {
    const xs = draw(qlograndint(10, 100, 10), 2, 3000);
    for (const x of xs) expect(x % 10).toBe(0);
    expect(Math.max(...xs)).toBe(100);
    expect(Math.min(...xs)).toBe(10);
  });
});

describe('choice', () => {
  it('picks each category equally often, objects included', () => {
    const cats = ['a', { b: 1 }, 3, null];
    const xs = draw(choice(cats));
    const counts = cats.map((c) => xs.filter((x) => x === c).length);
    expect(chiSquare(counts, [0.25, 0.25, 0.25, 0.25])).toBeLessThan(16.27);
  });
});

describe('seeds', () => {
  it('the same seed gives the same draws, another seed others', () => {
    const d = uniform(0, 1);
    expect(draw(d, 42, 50)).toEqual(draw(d, 42, 50));
    expect(draw(d, 42, 50)).not.toEqual(draw(d, 43, 50));
  });

  it('a saved random state continues the same sequence', () => {
    const a = new Random(9);
    for (let i = 0; i < 10; i++) a.random();
    const b = Random.fromState(JSON.parse(JSON.stringify(a.state())));
    expect(Array.from({ length: 5 }, () => b.random())).toEqual(Array.from({ length: 5 }, () => a.random()));
  });
});

describe('bad bounds fail at definition, saying how to fix them', () => {
  it.each([
    ['uniform(1, 1)', () => uniform(1, 1), /lower must be less than upper/],
    ['uniform(5, 1)', () => uniform(5, 1), /lower must be less than upper/],
    ['uniform(NaN, 1)', () => uniform(Number.NaN, 1), /lower must be a finite number/],
    ['loguniform(0, 1)', () => loguniform(0, 1), /needs lower > 0/],
    ['loguniform(-1, 1)', () => loguniform(-1, 1), /needs lower > 0/],
    ['loguniform base 1', () => loguniform(1, 10, 1), /base must be positive and not 1/],
    ['quniform q 0', () => quniform(0, 1, 0), /q must be positive/],
    ['quniform q -1', () => quniform(0, 1, -1), /q must be positive/],
    ['quniform off-grid', () => quniform(0, 1, 0.3), /not a multiple of q/],
    ['qrandint q 0', () => qrandint(0, 10, 0), /q must be positive/],
    ['randint(3, 3)', () => randint(3, 3), /lower must be less than upper/],
    ['randint(0.5, 3)', () => randint(0.5, 3), /must be an integer/],
    ['lograndint(0, 10)', () => lograndint(0, 10), /needs lower > 0/],
    ['randn sd 0', () => randn(0, 0), /sd must be positive/],
    ['choice([])', () => choice([]), /at least one category/],
    ['gridSearch([])', () => gridSearch([]), /at least one value/],
    ['sampleFrom(3)', () => sampleFrom(3 as any), /expected a function/],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(message);
  });
});
