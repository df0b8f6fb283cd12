// Asynchronous successive halving (Ray Tune's AsyncHyperBandScheduler, alias ASHAScheduler): each
// bracket has rungs at gracePeriod·rf^(k+s) up to maxT; when a trial first reaches a rung its
// score is compared with the scores already recorded there and the trial stops if it is below
// their (1 − 1/rf) quantile; nobody waits for a rung to fill. A trial reaching maxT stops
// (stopLastTrials). With several brackets a new trial joins one at random, weighted towards the
// brackets with more rungs (Ray's e^(size − max size)).

import { Random } from '../search/random.js';
import type { Mode, TrialResult } from '../types.js';
import { MetricTarget, numberOption, readNumber, stringOption } from './metric.js';
import { insertSorted, percentileSorted } from './percentile.js';
import type { SchedulerContext, SchedulerDecision, TrialScheduler, TrialView } from './trial-scheduler.js';

export interface ASHASchedulerOptions {
  timeAttr?: string;
  metric?: string;
  mode?: Mode;
  maxT?: number;
  gracePeriod?: number;
  reductionFactor?: number;
  brackets?: number;
  stopLastTrials?: boolean;
  /** Seed of the bracket draw (only used with brackets > 1). */
  seed?: number;
}

interface Rung {
  milestone: number;
  recorded: Map<string, number>;
  /** The recorded scores, ascending, so a cutoff costs a lookup rather than a sort. */
  sorted: number[];
}

function rung(milestone: number, recorded: [string, number][] = []): Rung {
  return { milestone, recorded: new Map(recorded), sorted: recorded.map(([, v]) => v).sort((a, b) => a - b) };
}

interface SavedState {
  kind: 'ASHAScheduler';
  metric?: string;
  mode?: Mode;
  rungs: [number, [string, number][]][][];
  trials: [string, number][];
  rng: unknown;
  stopped: number;
}

/** Floor of log_rf(x), robust to the float error of log(64)/log(4) = 2.9999999999999996. */
function floorLog(x: number, rf: number): number {
  return Math.floor(Math.log(x) / Math.log(rf) + 1e-9);
}

export class AsyncHyperBandScheduler implements TrialScheduler {
  readonly timeAttr: string;
  readonly maxT: number;
  readonly gracePeriod: number;
  readonly reductionFactor: number;
  readonly stopLastTrials: boolean;
  private readonly target: MetricTarget;
  private brackets: Rung[][];
  private readonly trialBracket = new Map<string, number>();
  private rng: Random;
  /** How many trials this scheduler stopped early. */
  numStopped = 0;

  constructor(options: ASHASchedulerOptions = {}) {
    const who = 'ASHAScheduler';
    this.timeAttr = stringOption(who, 'timeAttr', options.timeAttr ?? 'training_iteration');
    this.maxT = numberOption(who, 'maxT', options.maxT ?? 100);
    this.gracePeriod = numberOption(who, 'gracePeriod', options.gracePeriod ?? 1);
    this.reductionFactor = numberOption(who, 'reductionFactor', options.reductionFactor ?? 4);
    const brackets = options.brackets ?? 1;
    this.stopLastTrials = options.stopLastTrials ?? true;
    if (!(this.maxT > 0)) throw new RangeError(`${who}: maxT must be positive, got ${this.maxT}`);
    if (!(this.gracePeriod > 0))
      throw new RangeError(`${who}: gracePeriod must be positive, got ${this.gracePeriod}`);
    if (this.gracePeriod > this.maxT) {
      throw new RangeError(`${who}: gracePeriod (${this.gracePeriod}) must be <= maxT (${this.maxT})`);
    }
    if (!(this.reductionFactor > 1)) {
      throw new RangeError(`${who}: reductionFactor must be greater than 1, got ${this.reductionFactor}`);
    }
    if (!Number.isInteger(brackets) || brackets < 1) {
      throw new RangeError(`${who}: brackets must be a positive integer, got ${brackets}`);
    }
    this.target = new MetricTarget(who, options.metric, options.mode);
    this.rng = new Random(options.seed ?? 0);
    this.brackets = [];
    for (let s = 0; s < brackets; s++) {
      const count = floorLog(this.maxT / this.gracePeriod, this.reductionFactor) - s + 1;
      const rungs: Rung[] = [];
      for (let k = count - 1; k >= 0; k--) {
        rungs.push(rung(this.gracePeriod * this.reductionFactor ** (k + s)));
      }
      this.brackets.push(rungs);
    }
  }

  /** The rung milestones of each bracket, highest first (as Ray keeps them). */
  get rungMilestones(): number[][] {
    return this.brackets.map((b) => b.map((r) => r.milestone));
  }

  setSearchProperties(metric: string, mode: Mode): boolean {
    return this.target.set(metric, mode);
  }

  onTrialAdd(_ctx: SchedulerContext, trial: TrialView): void {
    this.target.check();
    if (this.trialBracket.has(trial.id)) return; // added again (a restore): keeps its bracket
    let index = 0;
    if (this.brackets.length > 1) {
      const sizes = this.brackets.map((b) => b.length);
      const max = Math.max(...sizes);
      index = this.rng.weighted(sizes.map((s) => Math.exp(s - max)));
    }
    this.trialBracket.set(trial.id, index);
  }

  onTrialResult(_ctx: SchedulerContext, trial: TrialView, result: TrialResult): SchedulerDecision {
    const t = readNumber('ASHAScheduler', result, this.timeAttr);
    const score = this.target.score(result);
    let decision: SchedulerDecision;
    if (t >= this.maxT && this.stopLastTrials) decision = 'STOP';
    else decision = this.onRungs(trial.id, t, score);
    if (decision === 'STOP') this.numStopped++;
    return decision;
  }

  private onRungs(id: string, t: number, score: number): 'CONTINUE' | 'STOP' {
    const rungs = this.brackets[this.trialBracket.get(id) ?? 0]!;
    for (const r of rungs) {
      if (t >= r.milestone && r.recorded.has(id) && !this.stopLastTrials) break;
      if (t < r.milestone || r.recorded.has(id)) continue;
      const cutoff = percentileSorted(r.sorted, (1 - 1 / this.reductionFactor) * 100);
      r.recorded.set(id, score);
      insertSorted(r.sorted, score);
      return cutoff !== undefined && score < cutoff ? 'STOP' : 'CONTINUE';
    }
    return 'CONTINUE';
  }

  onTrialComplete(_ctx: SchedulerContext, trial: TrialView, result?: TrialResult): void {
    if (result !== undefined && typeof result[this.timeAttr] === 'number' && this.target.metric) {
      const v = result[this.target.metric];
      if (typeof v === 'number')
        this.onRungs(trial.id, result[this.timeAttr] as number, this.target.score(result));
    }
    this.trialBracket.delete(trial.id);
  }

  onTrialError(_ctx: SchedulerContext, trial: TrialView): void {
    this.trialBracket.delete(trial.id);
  }

  onTrialRemove(_ctx: SchedulerContext, trial: TrialView): void {
    this.trialBracket.delete(trial.id);
  }

  chooseTrialToRun(ctx: SchedulerContext): TrialView | undefined {
    const trials = ctx.trials();
    return trials.find((t) => t.status === 'PENDING') ?? trials.find((t) => t.status === 'PAUSED');
  }

  saveState(): SavedState {
    return {
      kind: 'ASHAScheduler',
      metric: this.target.metric,
      mode: this.target.mode,
      rungs: this.brackets.map((b) => b.map((r) => [r.milestone, [...r.recorded]])),
      trials: [...this.trialBracket],
      rng: this.rng.state(),
      stopped: this.numStopped,
    };
  }

  restoreState(state: unknown): void {
    const s = state as Partial<SavedState> | null;
    if (s?.kind !== 'ASHAScheduler' || !Array.isArray(s.rungs) || s.rungs.length !== this.brackets.length) {
      throw new TypeError('ASHAScheduler.restoreState: not a state saved by an ASHAScheduler of this shape');
    }
    this.target.set(s.metric ?? '', s.mode as Mode);
    this.brackets = s.rungs.map((b) => b.map(([milestone, rec]) => rung(milestone, rec)));
    this.trialBracket.clear();
    for (const [id, b] of s.trials ?? []) this.trialBracket.set(id, b);
    this.rng = Random.fromState(s.rng);
    this.numStopped = s.stopped ?? 0;
  }
}

/** Ray Tune's name for the same scheduler. */
export const ASHAScheduler = AsyncHyperBandScheduler;
export type ASHAScheduler = AsyncHyperBandScheduler;
