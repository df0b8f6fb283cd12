// The Parzen estimators under TPESearch: the normal CDF to table values, a truncated mixture whose
// mass over its range is 1 and whose density integrates to it, draws inside the range, bandwidths
// from neighbour gaps, and categorical probabilities from counts plus the prior.
import { describe, expect, it } from 'vitest';
import { CategoricalParzen, NumericParzen, normalCdf } from './parzen.js';
import { Random } from './random.js';

describe('Parzen estimators', () => {
  it('normalCdf matches the table: Φ(0) = 0.5, Φ(1) = 0.841345, Φ(−2) = 0.022750, Φ(3) = 0.998650', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1)).toBeCloseTo(0.841345, 6);
    expect(normalCdf(-2)).toBeCloseTo(0.02275, 6);
    expect(normalCdf(3)).toBeCloseTo(0.99865, 6);
  });

  it('a truncated mixture has mass 1 over its range, its density integrates to that, and draws stay inside', () => {
    const p = new NumericParzen([1, 1.5, 8], 0, 10, { mu: 5, sigma: 10, weight: 1 });
    expect(Math.exp(p.logMass(0, 10))).toBeCloseTo(1, 6);
    let integral = 0;
    const h = 0.001;
    for (let x = h / 2; x < 10; x += h) integral += Math.exp(p.logPdf(x)) * h;
    expect(integral).toBeCloseTo(1, 3);
    const rng = new Random(1);
    for (let i = 0; i < 2000; i++) {
      const x = p.sample(rng);
      expect(x >= 0 && x <= 10).toBe(true);
    }
    // sorted points 1, 1.5, 5 (prior), 8 with edges 0 and 10: σ(1) = max(1 − 0, 1.5 − 1) = 1,
    // σ(1.5) = max(0.5, 3.5) = 3.5, σ(8) = max(3, 2) = 3; min σ = 10 / min(100, 4 + 1) = 2 → 2, 3.5, 10, 3
    expect(p.sigmas).toEqual([2, 3.5, 10, 3]);
  });

  it('categorical: counts plus priorWeight / k each', () => {
    // counts [2, 0, 1] + 1/3 each → [7/3, 1/3, 4/3] / 4
    const c = new CategoricalParzen([0, 0, 2], 3, 1);
    expect(c.probs[0]).toBeCloseTo(7 / 12, 12);
    expect(c.probs[1]).toBeCloseTo(1 / 12, 12);
    expect(c.probs[2]).toBeCloseTo(4 / 12, 12);
  });
});
