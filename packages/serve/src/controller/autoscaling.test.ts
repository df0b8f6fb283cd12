// The autoscaling policy by itself: Ray's formula with its clamps and factors, the decision
// that must repeat for delay/tick ticks before it is taken, averaging over the look-back window,
// and scaling up from zero at once when a handle holds a request.
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../config/options.js';
import { Autoscaler } from './autoscaling.js';

function scaler(config: Record<string, number>): Autoscaler {
  const o = resolveOptions('test', 'D', { autoscalingConfig: config });
  return new Autoscaler(o.autoscalingConfig!, 100);
}

describe('Autoscaler', () => {
  it("follows Ray's formula, clamped to min and max", () => {
    const a = scaler({ minReplicas: 1, maxReplicas: 10, targetOngoingRequests: 2 });
    expect(a.desired(2, 8)).toBe(4); // ceil(2 × (1 + (8/4 − 1)))
    expect(a.desired(4, 2)).toBe(1); // ceil(4 × (1 + (2/8 − 1))) = 1
    expect(a.desired(2, 100)).toBe(10);
    expect(a.desired(3, 0)).toBe(1);
    const damped = scaler({
      minReplicas: 1,
      maxReplicas: 10,
      targetOngoingRequests: 2,
      upscalingFactor: 0.5,
    });
    expect(damped.desired(2, 8)).toBe(3); // ceil(2 × (1 + 1 × 0.5))
    const smoothed = scaler({
      minReplicas: 1,
      maxReplicas: 10,
      smoothingFactor: 0.5,
      downscalingFactor: 0.5,
    });
    expect(smoothed.desired(4, 0)).toBe(3); // ceil(4 × (1 − 0.25))
  });

  it('takes a decision only after it repeated for upscaleDelayMs / downscaleDelayMs of ticks', () => {
    const a = scaler({
      minReplicas: 0,
      maxReplicas: 5,
      upscaleDelayMs: 500,
      downscaleDelayMs: 1000,
      lookBackPeriodMs: 100_000,
    });
    a.ongoing.record('r1', 0, 6);
    const ups = [1, 2, 3, 4, 5].map((tick) => a.decide(tick * 100, 1, 1));
    expect(ups).toEqual([1, 1, 1, 1, 3]); // ceil(1 × (1 + (6/2 − 1))) on the fifth tick
    // Load gone: scale down only after ten ticks (1000 ms / 100 ms) of the same decision.
    const b = scaler({ minReplicas: 0, maxReplicas: 5, downscaleDelayMs: 1000, lookBackPeriodMs: 100 });
    b.ongoing.record('r1', 0, 0);
    const downs = Array.from({ length: 10 }, (_, i) => b.decide(1000 + i * 100, 3, 3));
    expect(downs.slice(0, 9).every((n) => n === 3)).toBe(true);
    expect(downs[9]).toBe(0);
  });

  it('scales up from zero at once when a handle holds a request', () => {
    const a = scaler({ minReplicas: 0, maxReplicas: 5, upscaleDelayMs: 60_000 });
    expect(a.decide(0, 0, 0)).toBe(0);
    a.queued.record('handle', 10, 1);
    expect(a.decide(20, 0, 0)).toBe(1);
  });
});
