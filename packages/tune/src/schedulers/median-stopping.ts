// The median stopping rule (Ray Tune's MedianStoppingRule, from Google Vizier): past the grace
// period, a trial stops when its best metric so far is strictly worse than the median, over the
// other trials that have reached the same time, of their running mean metric between the grace
// period and that time. With fewer than minSamplesRequired such trials it continues, or pauses to
// let waiting trials catch up (once per minTimeSlice). hardStop false pauses instead of stopping,
// and a paused-by-the-rule trial later runs on without further judgement (Ray's FIFO fallback).
import type { Mode, TrialResult } from '../types.js';
import { MetricTarget, numberOption, readNumber, stringOption } from './metric.js';
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

/**
 * A trial's results with what the rule asks of them kept ready: prefix sums of the scores (so a
 * running mean over a time window is two binary searches while times only grow) and the best.
 */
class History {
  readonly points: Point[] = [];
  private readonly prefix: number[] = [0];
  private ordered = true;
  best = Number.NEGATIVE_INFINITY;

  push(p: Point): void {
    const last = this.points[this.points.length - 1];
    if (last !== undefined && p.t < last.t) this.ordered = false; // restored from an earlier checkpoint
    this.points.push(p);
    this.prefix.push(this.prefix[this.prefix.length - 1]! + p.v);
    if (p.v > this.best) this.best = p.v;
  }

  get lastT(): number {
    return this.points[this.points.length - 1]!.t;
  }

  /** Mean score of the results with lo ≤ t ≤ hi; NaN for none. */
  mean(lo: number, hi: number): number {
    if (!this.ordered) {
      const scoped = this.points.filter((p) => p.t >= lo && p.t <= hi);
      return scoped.length === 0 ? Number.NaN : scoped.reduce((s, p) => s + p.v, 0) / scoped.length;
    }
    const a = this.firstIndex((t) => t >= lo);
    const b = this.firstIndex((t) => t > hi);
    return b <= a ? Number.NaN : (this.prefix[b]! - this.prefix[a]!) / (b - a);
  }

  private firstIndex(pred: (t: number) => boolean): number {
    let l = 0;
    let h = this.points.length;
    while (l < h) {
      const m = (l + h) >>> 1;
      if (pred(this.points[m]!.t)) h = m;
      else l = m + 1;
    }
    return l;
  }
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
  private results = new Map<string, History>();
  private stopped = new Set<string>();
  private lastPause = new Map<string, number>();

  constructor(options: MedianStoppingRuleOptions = {}) {
    const who = 'MedianStoppingRule';
    this.timeAttr = stringOption(who, 'timeAttr', options.timeAttr ?? 'time_total_s');
    this.gracePeriod = numberOption(who, 'gracePeriod', options.gracePeriod ?? 60);
    this.minSamplesRequired = numberOption(who, 'minSamplesRequired', options.minSamplesRequired ?? 3);
    this.minTimeSlice = numberOption(who, 'minTimeSlice', options.minTimeSlice ?? 0);
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
    let h = this.results.get(id);
    if (h === undefined) this.results.set(id, (h = new History()));
    h.push(p);
    return p;
  }

  onTrialResult(ctx: SchedulerContext, trial: TrialView, result: TrialResult): SchedulerDecision {
    if (this.stopped.has(trial.id)) return 'CONTINUE'; // paused by the rule (hardStop false): runs on as FIFO
    const { t } = this.record(trial.id, result);
    if (t < this.gracePeriod) return 'CONTINUE';
    const others: History[] = [];
    for (const [id, h] of this.results) if (id !== trial.id && h.lastT >= t) others.push(h);
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
    const means = others.map((h) => h.mean(this.gracePeriod, t)).filter((m) => !Number.isNaN(m));
    const med = median(means);
    const best = this.results.get(trial.id)!.best;
    if (med !== undefined && best < med) {
      this.stopped.add(trial.id);
      return this.hardStop ? 'STOP' : 'PAUSE';
    }
    return 'CONTINUE';
  }

  onTrialComplete(_ctx: SchedulerContext, trial: TrialView, result?: TrialResult): void {
    if (result === undefined) return;
    const last = this.results.get(trial.id)?.points.at(-1);
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
      results: [...this.results].map(([id, h]) => [id, h.points]),
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
    this.results = new Map(
      s.results.map(([id, points]) => {
        const h = new History();
        for (const p of points) h.push(p);
        return [id, h];
      }),
    );
    this.stopped = new Set(s.stopped ?? []);
    this.lastPause = new Map(s.lastPause ?? []);
  }
}
