// The search-space leaves a paramSpace is written with (Ray Tune's tune.uniform, tune.choice, ...):
// each a Domain that samples itself from a seeded Random, and that a model-based searcher (TPE)
// can read: its kind, bounds, log base, quantum or categories. Bounds are checked where the space
// is written, so a space that cannot be sampled fails before any trial runs, with the fix named.

import type { TrialConfig } from '../types.js';
import type { Random } from './random.js';

/** What a sampleFrom function sees: the config resolved so far (Ray's `spec.config`) and the seeded random source. */
export interface SampleSpec {
  readonly config: TrialConfig;
  /** A uniform draw in [0, 1) from the searcher's seeded source, so sampleFrom stays reproducible. */
  random(): number;
}

export type FloatSampler =
  | { readonly kind: 'uniform' }
  | { readonly kind: 'loguniform'; readonly base: number }
  | { readonly kind: 'normal'; readonly mean: number; readonly sd: number };

export type IntegerSampler =
  | { readonly kind: 'uniform' }
  | { readonly kind: 'loguniform'; readonly base: number };

/** A search-space leaf. `instanceof Domain` tells a leaf from a constant. */
export abstract class Domain<T = unknown> {
  abstract sample(rng: Random, spec?: SampleSpec): T;
}

/** A float in [lower, upper) (uniform or log-uniform) or a normal draw; rounded to a multiple of q when q is set. */
export class FloatDomain extends Domain<number> {
  constructor(
    readonly lower: number,
    readonly upper: number,
    readonly sampler: FloatSampler,
    readonly q?: number,
  ) {
    super();
  }

  sample(rng: Random): number {
    const s = this.sampler;
    let v: number;
    if (s.kind === 'uniform') v = rng.uniform(this.lower, this.upper);
    else if (s.kind === 'loguniform') {
      const lb = Math.log(s.base);
      v = Math.exp(rng.uniform(Math.log(this.lower) / lb, Math.log(this.upper) / lb) * lb);
      v = Math.min(Math.max(v, this.lower), this.upper);
    } else v = rng.normal(s.mean, s.sd);
    return this.q === undefined ? v : quantize(v, this.q);
  }
}

/**
 * An integer in [lower, upper) (uniform, or log-uniform floored). With q the draw is rounded to
 * the nearest multiple of q (half to even, as numpy's round), so upper itself can come out, as
 * Ray's qrandint/qlograndint whose upper bound is inclusive.
 */
export class IntegerDomain extends Domain<number> {
  constructor(
    readonly lower: number,
    readonly upper: number,
    readonly sampler: IntegerSampler,
    readonly q?: number,
  ) {
    super();
  }

  sample(rng: Random): number {
    const s = this.sampler;
    let v: number;
    if (s.kind === 'uniform') v = rng.integer(this.lower, this.upper);
    else {
      const lb = Math.log(s.base);
      v = Math.floor(Math.exp(rng.uniform(Math.log(this.lower) / lb, Math.log(this.upper) / lb) * lb));
      v = Math.min(Math.max(v, this.lower), this.upper - 1);
    }
    return this.q === undefined ? v : roundHalfEven(v / this.q) * this.q;
  }
}

/** One of the categories, each equally likely. */
export class CategoricalDomain<T = unknown> extends Domain<T> {
  constructor(readonly categories: readonly T[]) {
    super();
  }

  sample(rng: Random): T {
    return this.categories[rng.integer(0, this.categories.length)]!;
  }
}

/** A value computed from the rest of the config (Ray's tune.sample_from). */
export class FunctionDomain<T = unknown> extends Domain<T> {
  constructor(readonly fn: (spec: SampleSpec) => T) {
    super();
  }

  sample(rng: Random, spec?: SampleSpec): T {
    return this.fn(spec ?? { config: {}, random: () => rng.random() });
  }
}

/** Every value in turn: the grid a BasicVariantGenerator multiplies with numSamples. Not a Domain: it is not sampled. */
export class GridSearch<T = unknown> {
  constructor(readonly values: readonly T[]) {}
}

/** Rounds to a multiple of q and drops the float noise of the multiplication (0.1 × 3 → 0.3, not 0.30000000000000004). */
export function quantize(v: number, q: number): number {
  const r = roundHalfEven(v / q) * q;
  const decimals = decimalPlaces(q);
  const v2 = decimals === undefined ? r : Number(r.toFixed(decimals));
  return v2 === 0 ? 0 : v2; // no -0 in a config
}

/** numpy's round: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function decimalPlaces(q: number): number | undefined {
  const s = String(q);
  if (s.includes('e')) return undefined;
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

// ---- the constructors users write (names as LIBRARIES.md and Ray's, camelCase) ----

function finite(name: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new TypeError(`tune.${name}: ${what} must be a finite number, got ${String(v)}`);
  }
  return v;
}

function integer(name: string, what: string, v: unknown): number {
  finite(name, what, v);
  if (!Number.isInteger(v)) throw new TypeError(`tune.${name}: ${what} must be an integer, got ${String(v)}`);
  return v as number;
}

function ordered(name: string, lower: number, upper: number): void {
  if (!(lower < upper)) {
    throw new RangeError(
      `tune.${name}(${lower}, ${upper}): lower must be less than upper; write the smaller bound first`,
    );
  }
}

function positiveQ(name: string, q: unknown): number {
  finite(name, 'q', q);
  if ((q as number) <= 0)
    throw new RangeError(`tune.${name}: q must be positive (the step to round to), got ${q}`);
  return q as number;
}

function logBounds(name: string, lower: number, upper: number, base: unknown): number {
  finite(name, 'base', base);
  if ((base as number) <= 0 || base === 1) {
    throw new RangeError(`tune.${name}: base must be positive and not 1, got ${base}`);
  }
  if (lower <= 0) {
    throw new RangeError(
      `tune.${name}(${lower}, ${upper}): a log-scale range needs lower > 0; use tune.uniform for a range through 0`,
    );
  }
  return base as number;
}

function divisible(name: string, bound: string, v: number, q: number): void {
  const k = v / q;
  if (Math.abs(k - Math.round(k)) > 1e-9 * Math.max(1, Math.abs(k))) {
    throw new RangeError(
      `tune.${name}: the ${bound} bound ${v} is not a multiple of q = ${q}; pick bounds on the q grid`,
    );
  }
}

/** A float uniformly in [lower, upper). */
export function uniform(lower: number, upper: number): FloatDomain {
  ordered('uniform', finite('uniform', 'lower', lower), finite('uniform', 'upper', upper));
  return new FloatDomain(lower, upper, { kind: 'uniform' });
}

/** uniform(lower, upper) rounded to a multiple of q (lower and upper must be multiples of q, as Ray). */
export function quniform(lower: number, upper: number, q: number): FloatDomain {
  ordered('quniform', finite('quniform', 'lower', lower), finite('quniform', 'upper', upper));
  positiveQ('quniform', q);
  divisible('quniform', 'lower', lower, q);
  divisible('quniform', 'upper', upper, q);
  return new FloatDomain(lower, upper, { kind: 'uniform' }, q);
}

/** A float in [lower, upper) uniform in log space (base 10 as Ray's default). */
export function loguniform(lower: number, upper: number, base = 10): FloatDomain {
  ordered('loguniform', finite('loguniform', 'lower', lower), finite('loguniform', 'upper', upper));
  logBounds('loguniform', lower, upper, base);
  return new FloatDomain(lower, upper, { kind: 'loguniform', base });
}

/** loguniform(lower, upper, base) rounded to a multiple of q. */
export function qloguniform(lower: number, upper: number, q: number, base = 10): FloatDomain {
  ordered('qloguniform', finite('qloguniform', 'lower', lower), finite('qloguniform', 'upper', upper));
  logBounds('qloguniform', lower, upper, base);
  positiveQ('qloguniform', q);
  divisible('qloguniform', 'lower', lower, q);
  divisible('qloguniform', 'upper', upper, q);
  return new FloatDomain(lower, upper, { kind: 'loguniform', base }, q);
}

/** A normal draw with this mean and standard deviation. */
export function randn(mean = 0, sd = 1): FloatDomain {
  finite('randn', 'mean', mean);
  if (finite('randn', 'sd', sd) <= 0) throw new RangeError(`tune.randn: sd must be positive, got ${sd}`);
  return new FloatDomain(-Infinity, Infinity, { kind: 'normal', mean, sd });
}

/** randn(mean, sd) rounded to a multiple of q. */
export function qrandn(mean: number, sd: number, q: number): FloatDomain {
  finite('qrandn', 'mean', mean);
  if (finite('qrandn', 'sd', sd) <= 0) throw new RangeError(`tune.qrandn: sd must be positive, got ${sd}`);
  positiveQ('qrandn', q);
  return new FloatDomain(-Infinity, Infinity, { kind: 'normal', mean, sd }, q);
}

/** An integer in [lower, upper): upper is exclusive, as Ray's randint and numpy's. */
export function randint(lower: number, upper: number): IntegerDomain {
  ordered('randint', integer('randint', 'lower', lower), integer('randint', 'upper', upper));
  return new IntegerDomain(lower, upper, { kind: 'uniform' });
}

/** An integer in [lower, upper] rounded to a multiple of q: upper is inclusive here, as Ray's qrandint. */
export function qrandint(lower: number, upper: number, q = 1): IntegerDomain {
  ordered('qrandint', integer('qrandint', 'lower', lower), integer('qrandint', 'upper', upper));
  integer('qrandint', 'q', positiveQ('qrandint', q));
  return new IntegerDomain(lower, upper, { kind: 'uniform' }, q);
}

/** An integer in [lower, upper) uniform in log space. */
export function lograndint(lower: number, upper: number, base = 10): IntegerDomain {
  ordered('lograndint', integer('lograndint', 'lower', lower), integer('lograndint', 'upper', upper));
  logBounds('lograndint', lower, upper, base);
  return new IntegerDomain(lower, upper, { kind: 'loguniform', base });
}

/** lograndint rounded to a multiple of q: upper inclusive, as Ray's qlograndint. */
export function qlograndint(lower: number, upper: number, q: number, base = 10): IntegerDomain {
  ordered('qlograndint', integer('qlograndint', 'lower', lower), integer('qlograndint', 'upper', upper));
  logBounds('qlograndint', lower, upper, base);
  integer('qlograndint', 'q', positiveQ('qlograndint', q));
  return new IntegerDomain(lower, upper, { kind: 'loguniform', base }, q);
}

/** One of categories, uniformly. */
export function choice<T>(categories: readonly T[]): CategoricalDomain<T> {
  if (!Array.isArray(categories)) {
    throw new TypeError(`tune.choice: categories must be an array, got ${typeof categories}`);
  }
  if (categories.length === 0) throw new RangeError('tune.choice([]): give at least one category');
  return new CategoricalDomain([...categories]);
}

/** Every value in turn, each a variant of the grid (multiplied by numSamples, as Ray). */
export function gridSearch<T>(values: readonly T[]): GridSearch<T> {
  if (!Array.isArray(values))
    throw new TypeError(`tune.gridSearch: values must be an array, got ${typeof values}`);
  if (values.length === 0) throw new RangeError('tune.gridSearch([]): give at least one value');
  return new GridSearch([...values]);
}

/** A value computed by fn from the config resolved so far: `sampleFrom((spec) => spec.config.a * 2)`. */
export function sampleFrom<T>(fn: (spec: SampleSpec) => T): FunctionDomain<T> {
  if (typeof fn !== 'function') throw new TypeError(`tune.sampleFrom: expected a function, got ${typeof fn}`);
  return new FunctionDomain(fn);
}
