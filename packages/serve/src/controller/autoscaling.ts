// Ray Serve's default autoscaling policy: from the requests queued in handles and ongoing in
// replicas, averaged over the look-back window, desired = ceil(running × (1 + (total /
// (target × running) − 1) × factor)) clamped to [min, max], where factor is the up- or
// downscaling factor times the smoothing factor; a decision is taken only after it repeated for
// upscaleDelayMs / downscaleDelayMs worth of control-loop ticks. From zero replicas a waiting
// request scales up at once.
import type { AutoscalingConfig } from '../config/options.js';

interface Sample {
  at: number;
  value: number;
}

/** A time series per source (a handle or a replica), kept for the look-back window. */
class Series {
  readonly #bySource = new Map<string, Sample[]>();

  record(source: string, at: number, value: number): void {
    let samples = this.#bySource.get(source);
    if (samples === undefined) {
      samples = [];
      this.#bySource.set(source, samples);
    }
    samples.push({ at, value });
  }

  forget(source: string): void {
    this.#bySource.delete(source);
  }

  /** Sum over sources of each one's average over the window (a source with no sample: 0). */
  total(now: number, windowMs: number): number {
    let total = 0;
    for (const [source, samples] of this.#bySource) {
      // Keep the last sample before the window: it held until the first one inside it.
      while (samples.length > 1 && samples[1]!.at <= now - windowMs) samples.shift();
      if (samples.length === 0) {
        this.#bySource.delete(source);
        continue;
      }
      const last = samples[samples.length - 1]!;
      if (samples.length === 1 && last.at < now - windowMs && last.value === 0) {
        this.#bySource.delete(source);
        continue;
      }
      total += samples.reduce((s, x) => s + x.value, 0) / samples.length;
    }
    return total;
  }

  /** The latest value of each source summed (what is waiting right now). */
  latest(): number {
    let total = 0;
    for (const samples of this.#bySource.values()) total += samples[samples.length - 1]?.value ?? 0;
    return total;
  }
}

export class Autoscaler {
  readonly queued = new Series();
  readonly ongoing = new Series();
  #counter = 0;
  lastReplicaPoll = 0;

  constructor(
    readonly config: Required<AutoscalingConfig>,
    readonly loopPeriodMs: number,
  ) {}

  /** Ray's formula, clamped; no delays. */
  desired(running: number, totalRequests: number): number {
    const c = this.config;
    let want: number;
    if (running === 0) {
      want = totalRequests > 0 ? Math.max(1, Math.ceil(totalRequests / c.targetOngoingRequests)) : 0;
    } else {
      const error = totalRequests / (c.targetOngoingRequests * running) - 1;
      const factor = (error > 0 ? c.upscalingFactor : c.downscalingFactor) * c.smoothingFactor;
      want = Math.ceil(running * (1 + error * factor));
    }
    return Math.min(c.maxReplicas, Math.max(c.minReplicas, want));
  }

  /** The replica count to aim for after this tick, given the current target and running count. */
  decide(now: number, currentTarget: number, running: number): number {
    const total =
      this.queued.total(now, this.config.lookBackPeriodMs) +
      this.ongoing.total(now, this.config.lookBackPeriodMs);
    if (currentTarget === 0 && this.queued.latest() > 0) {
      // A request waits at zero replicas: come back at once (Ray skips the delay here).
      this.#counter = 0;
      return Math.max(1, this.desired(0, total));
    }
    const want = this.desired(running || currentTarget, total);
    if (want > currentTarget) {
      if (this.#counter < 0) this.#counter = 0;
      this.#counter++;
      if (this.#counter >= Math.max(1, this.config.upscaleDelayMs / this.loopPeriodMs)) {
        this.#counter = 0;
        return want;
      }
    } else if (want < currentTarget) {
      if (this.#counter > 0) this.#counter = 0;
      this.#counter--;
      if (-this.#counter >= Math.max(1, this.config.downscaleDelayMs / this.loopPeriodMs)) {
        this.#counter = 0;
        return want;
      }
    } else {
      this.#counter = 0;
    }
    return currentTarget;
  }
}
