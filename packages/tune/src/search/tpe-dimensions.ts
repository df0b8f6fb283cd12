// How TPESearch sees each leaf of a search space: a numeric dimension on an internal axis (the
// value itself, or its logarithm for log-scale domains), with the range a Parzen mixture is
// truncated to, the prior component, and for discrete domains (integers, quantized floats) the
// grid of values and each value's cell; or a categorical dimension by index. A sampleFrom leaf is
// no dimension: it is computed from the config once the dimensions are chosen.

import { CategoricalParzen, NumericParzen } from './parzen.js';
import type { Random } from './random.js';
import {
  CategoricalDomain,
  type Domain,
  FloatDomain,
  IntegerDomain,
  quantize,
  roundHalfEven,
} from './space.js';

export interface NumericDimension {
  readonly type: 'numeric';
  readonly key: string;
  /** Internal axis bounds (log-transformed for log domains); ±Infinity for a normal domain. */
  readonly low: number;
  readonly high: number;
  readonly prior: { mu: number; sigma: number };
  /** Original value → internal axis. */
  toAxis(v: number): number;
  /** Internal axis → the original value the domain can produce (rounded to its grid, clamped). */
  fromAxis(x: number): number;
  /** The internal interval whose mass scores a discrete value; undefined for a continuous one. */
  cell(v: number): [number, number] | undefined;
}

export interface CategoricalDimension {
  readonly type: 'categorical';
  readonly key: string;
  readonly categories: readonly unknown[];
}

export type Dimension = NumericDimension | CategoricalDimension;

/** The internal (axis or index) value of a dimension, as kept per observation. */
export type AxisValue = number;

/** The lower edge of a discrete value's cell: v − q/2, kept above 0 on a log axis (half of v there). */
function cellLow(v: number, q: number, log: boolean): number {
  return log ? Math.max(v - q / 2, v / 2) : v - q / 2;
}

function logOf(base: number): (v: number) => number {
  const lb = Math.log(base);
  return (v) => Math.log(v) / lb;
}

export function dimensionOf(key: string, d: Domain): Dimension | undefined {
  if (d instanceof CategoricalDomain) return { type: 'categorical', key, categories: d.categories };
  if (d instanceof FloatDomain) {
    const s = d.sampler;
    const q = d.q;
    if (s.kind === 'normal') {
      return numeric(
        key,
        -Infinity,
        Infinity,
        { mu: s.mean, sigma: s.sd },
        (v) => v,
        (x) => x,
        q,
        -Infinity,
        Infinity,
        false,
      );
    }
    const log = s.kind === 'loguniform' ? logOf(s.base) : (v: number) => v;
    const exp = s.kind === 'loguniform' ? (x: number) => s.base ** x : (x: number) => x;
    const lo = q === undefined ? log(d.lower) : log(cellLow(d.lower, q, s.kind === 'loguniform'));
    const hi = q === undefined ? log(d.upper) : log(d.upper + q / 2);
    return numeric(
      key,
      lo,
      hi,
      { mu: (lo + hi) / 2, sigma: hi - lo },
      log,
      exp,
      q,
      d.lower,
      d.upper,
      s.kind === 'loguniform',
    );
  }
  if (d instanceof IntegerDomain) {
    const q = d.q ?? 1;
    // The values it can produce: lower..upper-1, or with q the multiples of q the rounding gives (upper inclusive).
    const vmin = d.q === undefined ? d.lower : roundHalfEven(d.lower / q) * q;
    const vmax = d.q === undefined ? d.upper - 1 : roundHalfEven((d.upper - 1) / q) * q;
    const s = d.sampler;
    const log = s.kind === 'loguniform' ? logOf(s.base) : (v: number) => v;
    const exp = s.kind === 'loguniform' ? (x: number) => s.base ** x : (x: number) => x;
    const lo = log(cellLow(vmin, q, s.kind === 'loguniform'));
    const hi = log(vmax + q / 2);
    return numeric(
      key,
      lo,
      hi,
      { mu: (lo + hi) / 2, sigma: hi - lo },
      log,
      exp,
      q,
      vmin,
      vmax,
      s.kind === 'loguniform',
    );
  }
  return undefined;
}

function numeric(
  key: string,
  low: number,
  high: number,
  prior: { mu: number; sigma: number },
  toAxis: (v: number) => number,
  exp: (x: number) => number,
  q: number | undefined,
  vmin: number,
  vmax: number,
  isLog: boolean,
): NumericDimension {
  const clamp = (v: number) => Math.min(Math.max(v, vmin), vmax);
  if (q === undefined) {
    return {
      type: 'numeric',
      key,
      low,
      high,
      prior,
      toAxis,
      fromAxis: (x) => clamp(exp(x)),
      cell: () => undefined,
    };
  }
  return {
    type: 'numeric',
    key,
    low,
    high,
    prior,
    toAxis,
    fromAxis: (x) => clamp(quantize(exp(x), q)),
    cell: (v) => [toAxis(cellLow(v, q, isLog)), toAxis(v + q / 2)],
  };
}

/** A dimension's pair of estimators, fitted to the good and the bad observations. */
export class DimensionModel {
  private readonly good: NumericParzen | CategoricalParzen;
  private readonly bad: NumericParzen | CategoricalParzen;

  constructor(
    readonly dim: Dimension,
    good: AxisValue[],
    bad: AxisValue[],
    priorWeight: number,
  ) {
    if (dim.type === 'categorical') {
      this.good = new CategoricalParzen(good, dim.categories.length, priorWeight);
      this.bad = new CategoricalParzen(bad, dim.categories.length, priorWeight);
    } else {
      const prior = { ...dim.prior, weight: priorWeight };
      this.good = new NumericParzen(good, dim.low, dim.high, prior);
      this.bad = new NumericParzen(bad, dim.low, dim.high, prior);
    }
  }

  /** A candidate from the good estimator, as an axis value on the domain's grid. */
  sample(rng: Random): AxisValue {
    if (this.good instanceof CategoricalParzen) return this.good.sample(rng);
    const d = this.dim as NumericDimension;
    return d.toAxis(d.fromAxis(this.good.sample(rng)));
  }

  /** log l(x) − log g(x): how much likelier x is among the good trials than the bad. */
  score(x: AxisValue): number {
    if (this.good instanceof CategoricalParzen) {
      return this.good.logPmf(x) - (this.bad as CategoricalParzen).logPmf(x);
    }
    const d = this.dim as NumericDimension;
    const bad = this.bad as NumericParzen;
    const cell = d.cell(d.fromAxis(x));
    if (cell === undefined) return this.good.logPdf(x) - bad.logPdf(x);
    return this.good.logMass(cell[0], cell[1]) - bad.logMass(cell[0], cell[1]);
  }
}

/** A value from the domain's own distribution (the startup trials), as an axis value. */
export function axisOf(dim: Dimension, value: unknown): AxisValue {
  if (dim.type === 'categorical') {
    const i = dim.categories.indexOf(value);
    return i < 0 ? dim.categories.findIndex((c) => JSON.stringify(c) === JSON.stringify(value)) : i;
  }
  return dim.toAxis(value as number);
}

export function domainValue(dim: Dimension, x: AxisValue): unknown {
  return dim.type === 'categorical' ? dim.categories[x] : dim.fromAxis(x);
}
