// The Parzen estimators TPESearch fits per dimension to its good and its bad trials: for a numeric
// dimension a mixture of normals (one per observation plus a prior one over the whole range),
// truncated to the range, with each bandwidth the larger gap to a neighbouring observation,
// clipped to [range / min(100, n + 1), range] (the adaptive Parzen estimator of Bergstra et al.);
// for a categorical one, observation counts plus a prior pseudo-count spread over the categories.
// Discrete values (integers, quantized floats) are scored by the mixture's mass over their cell.
import type { Random } from './random.js';

/** The standard normal CDF through erfc. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

function erfc(x: number): number {
  // The Chebyshev-fitted erfc of Numerical Recipes: relative error below 1.2e-7 everywhere, tails included.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** A truncated mixture of normals over [low, high] (either may be infinite). */
export class NumericParzen {
  readonly mus: number[];
  readonly sigmas: number[];
  readonly weights: number[];
  private readonly logZ: number[];
  /** Per component: log weight − log σ − log √(2π) − log Z, so a density is one exp per component. */
  private readonly logConst: Float64Array;
  /** Per component: weight / Z, its share of a cell's mass per unit of normal CDF. */
  private readonly massScale: Float64Array;

  constructor(
    observations: readonly number[],
    readonly low: number,
    readonly high: number,
    prior: { mu: number; sigma: number; weight: number },
  ) {
    const points = [...observations.map((mu) => ({ mu, prior: false })), { mu: prior.mu, prior: true }];
    points.sort((a, b) => a.mu - b.mu);
    // The bandwidth scale: the range, or for an unbounded (normal) dimension the prior's 6σ around the data.
    const lo = Number.isFinite(low) ? low : Math.min(prior.mu - 3 * prior.sigma, ...observations);
    const hi = Number.isFinite(high) ? high : Math.max(prior.mu + 3 * prior.sigma, ...observations);
    const range = hi - lo;
    const minSigma = range / Math.min(100, points.length + 1);
    this.mus = [];
    this.sigmas = [];
    this.weights = [];
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      this.mus.push(p.mu);
      this.weights.push(p.prior ? prior.weight : 1);
      if (p.prior) {
        this.sigmas.push(prior.sigma);
        continue;
      }
      const left = i > 0 ? points[i - 1]!.mu : lo;
      const right = i < points.length - 1 ? points[i + 1]!.mu : hi;
      const sigma = Math.max(p.mu - left, right - p.mu);
      this.sigmas.push(Math.min(Math.max(sigma, minSigma), range));
    }
    const total = this.weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < this.weights.length; i++) this.weights[i]! /= total;
    this.logZ = this.mus.map((mu, i) => {
      const s = this.sigmas[i]!;
      return Math.log(Math.max(normalCdf((high - mu) / s) - normalCdf((low - mu) / s), 1e-300));
    });
    const k = this.mus.length;
    this.logConst = new Float64Array(k);
    this.massScale = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      this.logConst[i] =
        Math.log(this.weights[i]!) - Math.log(this.sigmas[i]!) - LOG_SQRT_2PI - this.logZ[i]!;
      this.massScale[i] = this.weights[i]! / Math.exp(this.logZ[i]!);
    }
  }

  /** A draw: a component by weight, then its normal truncated to [low, high] (by rejection; clamped if it keeps missing). */
  sample(rng: Random): number {
    const i = rng.weighted(this.weights);
    const mu = this.mus[i]!;
    const s = this.sigmas[i]!;
    for (let tries = 0; tries < 100; tries++) {
      const x = rng.normal(mu, s);
      if (x >= this.low && x <= this.high) return x;
    }
    return Math.min(Math.max(mu, this.low), this.high);
  }

  /** log density at x (log-sum-exp over the components, without allocating). */
  logPdf(x: number): number {
    const k = this.mus.length;
    let m = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < k; i++) {
      const z = (x - this.mus[i]!) / this.sigmas[i]!;
      const t = this.logConst[i]! - 0.5 * z * z;
      if (t > m) m = t;
    }
    if (m === Number.NEGATIVE_INFINITY) return m;
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const z = (x - this.mus[i]!) / this.sigmas[i]!;
      sum += Math.exp(this.logConst[i]! - 0.5 * z * z - m);
    }
    return m + Math.log(sum);
  }

  /** log of the mass over [a, b] (a discrete value's cell). */
  logMass(a: number, b: number): number {
    let m = 0;
    for (let i = 0; i < this.mus.length; i++) {
      const s = this.sigmas[i]!;
      const mu = this.mus[i]!;
      m += this.massScale[i]! * (normalCdf((b - mu) / s) - normalCdf((a - mu) / s));
    }
    return Math.log(Math.max(m, 1e-300));
  }
}

/** Category probabilities: observation counts plus priorWeight spread evenly. */
export class CategoricalParzen {
  readonly probs: number[];

  constructor(observations: readonly number[], k: number, priorWeight: number) {
    const w = new Array<number>(k).fill(priorWeight / k);
    for (const o of observations) w[o]! += 1;
    const total = w.reduce((a, b) => a + b, 0);
    this.probs = w.map((x) => x / total);
  }

  sample(rng: Random): number {
    return rng.weighted(this.probs);
  }

  logPmf(index: number): number {
    return Math.log(this.probs[index]!);
  }
}
