// The median stopping rule (Ray Tune's MedianStoppingRule, from Google Vizier): past the grace
// period, a trial stops when its best metric so far is strictly worse than the median, over the
// other trials that have reached the same time, of their running mean metric between the grace
// period and that time. With fewer than minSamplesRequired such trials it continues, or pauses to
// let waiting trials catch up (once per minTimeSlice). hardStop false pauses instead of stopping,
// and a paused-by-the-rule trial later runs on without further judgement (Ray's FIFO fallback).
import type { Mode, TrialResult } from '../types.js';
import { MetricTarget, readNumber } from './metric.js';
import { median } from './percentile.js';
import type { SchedulerContext, SchedulerDecision, TrialScheduler, TrialView } from './trial-scheduler.js';

export interface MedianStoppingRuleOptions {
  timeAttr?: string;
  metric?: string;
  mode?: Mode;
  gracePeriod?: number;
  minSamplesRequired?: number;
  minTimeSlice?: number;
  hardStop?: boolean;
}

interface Point {
  t: number;
  v: number;
}

interface SavedState {
  kind: 'MedianStoppingRule';
  metric?: string;
  mode?: Mode;
  results: [string, Point[]][];
  stopped: string[];
  lastPause: [string, number][];
}

export class MedianStoppingRule implements TrialScheduler {
  readonly timeAttr: string;
  readonly gracePeriod: number;
  readonly minSamplesRequired: number;
  readonly minTimeSlice: number;
  readonly hardStop: boolean;
  private readonly target: MetricTarget;
  /** Per trial, (time, metric) of every result, in order. */
  private results = new Map<string, Point[]>();
  private stopped = new Set<string>();
  private lastPause = new Map<string, number>();

  constructor(options: MedianStoppingRuleOptions = {}) {
    const who = 'MedianStoppingRule';
    this.timeAttr = options.timeAttr ?? 'time_total_s';
    this.gracePeriod = options.gracePeriod ?? 60;
    this.minSamplesRequired = options.minSamplesRequired ?? 3;
    this.minTimeSlice = options.minTimeSlice ?? 0;
    this.hardStop = options.hardStop ?? true;
    if (!(this.gracePeriod >= 0))
      throw new RangeError(`${who}: gracePeriod must be >= 0, got ${this.gracePeriod}`);
    if (!Number.isInteger(this.minSamplesRequired) || this.minSamplesRequired < 1) {
      throw new RangeError(
        `${who}: minSamplesRequired must be a positive integer, got ${this.minSamplesRequired}`,
      );
    }
    if (!(this.minTimeSlice >= 0))
      throw new RangeError(`${who}: minTimeSlice must be >= 0, got ${this.minTimeSlice}`);
    this.target = new MetricTarget(who, options.metric, options.mode);
  }

  setSearchProperties(metric: string, mode: Mode): boolean {
    return this.target.set(metric, mode);
  }

  onTrialAdd(_ctx: SchedulerContext, _trial: TrialView): void {
    this.target.check();
  }

  private record(id: string, result: TrialResult): Point {
    const p = { t: readNumber('MedianStoppingRule', result, this.timeAttr), v: this.target.score(result) };
    let list = this.results.get(id);
    if (list === undefined) this.results.set(id, (list = []));
    list.push(p);
    return p;
  }

  onTrialResult(ctx: SchedulerContext, trial: TrialView, result: TrialResult): SchedulerDecision {
    if (this.stopped.has(trial.id)) return 'CONTINUE'; // paused by the rule (hardStop false): runs on as FIFO
    const { t } = this.record(trial.id, result);
    if (t < this.gracePeriod) return 'CONTINUE';
    const others = [...this.results].filter(([id, ps]) => id !== trial.id && ps[ps.length - 1]!.t >= t);
    if (others.length < this.minSamplesRequired) {
      const waiting = ctx
        .trials()
        .some((x) => x.id !== trial.id && (x.status === 'PENDING' || x.status === 'PAUSED'));
      if (waiting && t - (this.lastPause.get(trial.id) ?? Number.NEGATIVE_INFINITY) > this.minTimeSlice) {
        this.lastPause.set(trial.id, t);
        return 'PAUSE';
      }
      return 'CONTINUE';
    }
    // Scores are signed so that higher is better: "strictly worse" is best < median.
    const means = others.map(([, ps]) => this.runningMean(ps, t)).filter((m) => !Number.isNaN(m));
    const med = median(means);
    const best = Math.max(...this.results.get(trial.id)!.map((p) => p.v));
    if (med !== undefined && best < med) {
      this.stopped.add(trial.id);
      return this.hardStop ? 'STOP' : 'PAUSE';
    }
    return 'CONTINUE';
  }

  private runningMean(points: Point[], t: number): number {
    const scoped = points.filter((p) => p.t >= this.gracePeriod && p.t <= t);
    return scoped.length === 0 ? Number.NaN : scoped.reduce((s, p) => s + p.v, 0) / scoped.length;
  }

  onTrialComplete(_ctx: SchedulerContext, trial: TrialView, result?: TrialResult): void {
    if (result === undefined) return;
    const last = this.results.get(trial.id)?.at(-1);
    // The Tuner may hand the last reported result once more as the final one: count it once.
    if (last !== undefined && last.t === result[this.timeAttr]) return;
    if (typeof result[this.timeAttr] === 'number' && typeof result[this.target.metric ?? ''] === 'number') {
      this.record(trial.id, result);
    }
  }

  onTrialError(_ctx: SchedulerContext, _trial: TrialView): void {}

  onTrialRemove(_ctx: SchedulerContext, _trial: TrialView): void {}

  chooseTrialToRun(ctx: SchedulerContext): TrialView | undefined {
    const trials = ctx.trials();
    return trials.find((t) => t.status === 'PENDING') ?? trials.find((t) => t.status === 'PAUSED');
  }

  saveState(): SavedState {
    return {
      kind: 'MedianStoppingRule',
      metric: this.target.metric,
      mode: this.target.mode,
      results: [...this.results],
      stopped: [...this.stopped],
      lastPause: [...this.lastPause],
    };
  }

  restoreState(state: unknown): void {
    const s = state as Partial<SavedState> | null;
    if (s?.kind !== 'MedianStoppingRule' || !Array.isArray(s.results)) {
      throw new TypeError('MedianStoppingRule.restoreState: not a state this rule saved');
    }
    this.target.set(s.metric ?? '', s.mode as Mode);
    this.results = new Map(s.results);
    this.stopped = new Set(s.stopped ?? []);
    this.lastPause = new Map(s.lastPause ?? []);
  }
}
