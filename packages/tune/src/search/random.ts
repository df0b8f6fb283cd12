// The seeded random source behind every draw tune makes (search spaces, searchers, schedulers
// that choose at random): xoshiro128** seeded through splitmix32, so the same seed gives the same
// configs on every platform, and a state of four integers that saves to JSON and restores, so a
// restored experiment continues the same sequence.

export type RandomState = [number, number, number, number];

export class Random {
  private s: Uint32Array;

  /** Seeded by an integer; without one, by Math.random (a run that is not reproducible, as Ray without a seed). */
  constructor(seed?: number) {
    if (seed !== undefined && !Number.isFinite(seed)) {
      throw new TypeError(`seed must be a finite number, got ${String(seed)}`);
    }
    let x = seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Math.trunc(seed) >>> 0;
    // A negative or >32-bit seed folds its high bits in, so seeds 1 and 2**32 + 1 differ.
    if (seed !== undefined) x = (x ^ Math.floor(Math.abs(Math.trunc(seed)) / 2 ** 32)) >>> 0;
    this.s = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  static fromState(state: unknown): Random {
    if (
      !Array.isArray(state) ||
      state.length !== 4 ||
      !state.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)
    ) {
      throw new TypeError('a saved random state is four unsigned 32-bit integers; this one is not');
    }
    const r = new Random(0);
    r.s.set(state);
    return r;
  }

  state(): RandomState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  /** The next 32 random bits. */
  nextUint32(): number {
    const s = this.s;
    let s0 = s[0]!;
    let s1 = s[1]!;
    let s2 = s[2]!;
    let s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result;
  }

  /** A float in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A float in [lower, upper). */
  uniform(lower: number, upper: number): number {
    const v = lower + (upper - lower) * this.random();
    return v < upper ? v : lower; // rounding can land on upper when the range is huge
  }

  /** An integer in [lower, upper) (upper exclusive, as numpy's integers). */
  integer(lower: number, upper: number): number {
    return lower + Math.floor(this.random() * (upper - lower));
  }

  /** A normal draw (Box–Muller; one pair per call, so the state stays four integers). */
  normal(mean = 0, sd = 1): number {
    let u = this.random();
    while (u === 0) u = this.random();
    const v = this.random();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** An index drawn with the given (non-negative, not all zero) weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.random() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
