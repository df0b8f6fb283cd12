// Synchronous HyperBand (Ray Tune's HyperBandScheduler): trials fill brackets s = 0, 1, ...,
// sMax of a band (bracket s takes ceil(sMax1 / (s + 1) · eta^s) trials starting at
// trunc(maxT · eta^−s)), then a new band begins. A trial that reaches its bracket's round time
// PAUSEs until all of the bracket's trials have; then the bracket halves: the worse trials stop
// (the reporting one by STOP, paused ones through SchedulerContext.stopTrial), the better go on,
// paused ones resumed by chooseTrialToRun, least complete bracket first. A bracket whose last
// round is done stops its trials (stopLastTrials).

import { roundHalfEven } from '../search/space.js';
import type { Mode, TrialResult } from '../types.js';
import { Bracket, type BracketState } from './hyperband-bracket.js';
import { MetricTarget, numberOption, readNumber, stringOption } from './metric.js';
import type {
  SchedulerContext,
  SchedulerDecision,
  TrialScheduler,
  TrialStatus,
  TrialView,
} from './trial-scheduler.js';

export interface HyperBandSchedulerOptions {
  timeAttr?: string;
  metric?: string;
  mode?: Mode;
  maxT?: number;
  reductionFactor?: number;
  stopLastTrials?: boolean;
}

interface SavedState {
  kind: 'HyperBandScheduler';
  metric?: string;
  mode?: Mode;
  bands: (BracketState | null)[][];
  current: [number, number] | null;
  bandIdx: number;
  trials: [string, [number, number]][];
}

export class HyperBandScheduler implements TrialScheduler {
  readonly timeAttr: string;
  readonly maxT: number;
  readonly eta: number;
  readonly stopLastTrials: boolean;
  private readonly sMax1: number;
  private readonly target: MetricTarget;
  private bands: (Bracket | null)[][] = [[]];
  private current: Bracket | null = null;
  private bandIdx = 0;
  private readonly trialBracket = new Map<string, Bracket>();

  constructor(options: HyperBandSchedulerOptions = {}) {
    const who = 'HyperBandScheduler';
    this.timeAttr = stringOption(who, 'timeAttr', options.timeAttr ?? 'training_iteration');
    this.maxT = numberOption(who, 'maxT', options.maxT ?? 81);
    this.eta = numberOption(who, 'reductionFactor', options.reductionFactor ?? 3);
    this.stopLastTrials = options.stopLastTrials ?? true;
    if (!(this.maxT > 0)) throw new RangeError(`${who}: maxT must be positive, got ${this.maxT}`);
    if (!(this.eta > 1))
      throw new RangeError(`${who}: reductionFactor must be greater than 1, got ${this.eta}`);
    // numpy's round (half to even), as Ray's int(np.round(log(maxT) / log(eta))) + 1
    this.sMax1 = roundHalfEven(Math.log(this.maxT) / Math.log(this.eta)) + 1;
    this.target = new MetricTarget(who, options.metric, options.mode);
  }

  /** Trials in bracket s, and the time they start with (Ray's n0 and r0). */
  bracketShape(s: number): { trials: number; startT: number } {
    return {
      trials: Math.ceil((this.sMax1 / (s + 1)) * this.eta ** s),
      startT: Math.trunc(this.maxT * this.eta ** -s),
    };
  }

  setSearchProperties(metric: string, mode: Mode): boolean {
    return this.target.set(metric, mode);
  }

  onTrialAdd(_ctx: SchedulerContext, trial: TrialView): void {
    this.target.check();
    if (this.trialBracket.has(trial.id)) return; // added again (a restore): keeps its bracket
    if (this.current === null || this.current.filled()) {
      let band = this.bands[this.bandIdx]!;
      for (;;) {
        if (band.length === this.sMax1) {
          band = [];
          this.bands.push(band);
          this.bandIdx++;
        }
        const s = band.length;
        const { trials, startT } = this.bracketShape(s);
        // A bracket whose start time rounds to 0 gets no trials (Ray: "bracket too small").
        const b =
          startT === 0 ? null : new Bracket(trials, startT, this.maxT, this.eta, s, this.stopLastTrials);
        band.push(b);
        this.current = b;
        if (b !== null) break;
      }
    }
    this.current!.add(trial.id);
    this.trialBracket.set(trial.id, this.current!);
  }

  onTrialResult(ctx: SchedulerContext, trial: TrialView, result: TrialResult): SchedulerDecision {
    // A trial never added (a Tuner restored without this scheduler's state) joins a bracket now.
    if (!this.trialBracket.has(trial.id)) this.onTrialAdd(ctx, trial);
    const bracket = this.trialBracket.get(trial.id)!;
    if (!bracket.live.has(trial.id)) return 'STOP'; // halved away already
    bracket.update(trial.id, {
      t: readNumber('HyperBandScheduler', result, this.timeAttr),
      score: this.target.score(result),
    });
    if (bracket.continueTrial(trial.id)) return 'CONTINUE';
    return this.processBracket(ctx, bracket, trial.id);
  }

  /** When the bracket's round is done: halve it (or stop it all when it is finished). Ray's _process_bracket. */
  private processBracket(ctx: SchedulerContext, bracket: Bracket, currentId?: string): SchedulerDecision {
    let decision: SchedulerDecision = 'PAUSE';
    if (!bracket.curIterDone()) return decision;
    const status = statusOf(ctx);
    if (bracket.finished()) {
      for (const id of [...bracket.live.keys()]) {
        if (id !== currentId && status.get(id) === 'PAUSED') this.stopOther(ctx, bracket, id);
      }
      return 'STOP';
    }
    bracket.beingProcessed = true;
    try {
      const { good, bad } = bracket.successiveHalving();
      for (const id of bad) {
        if (id === currentId) {
          bracket.remove(id);
          decision = 'STOP';
        } else this.stopOther(ctx, bracket, id);
      }
      for (const id of good) {
        if (!bracket.continueTrial(id)) continue;
        if (id === currentId) decision = 'CONTINUE';
        else bracket.toUnpause.add(id);
      }
    } finally {
      bracket.beingProcessed = false;
    }
    return decision;
  }

  private stopOther(ctx: SchedulerContext, bracket: Bracket, id: string): void {
    if (ctx.stopTrial === undefined) {
      throw new Error(
        'HyperBandScheduler needs SchedulerContext.stopTrial to stop the paused trials a halving drops; this Tuner does not provide it',
      );
    }
    bracket.remove(id);
    ctx.stopTrial(id);
  }

  private removeTrial(ctx: SchedulerContext, trial: TrialView): void {
    const bracket = this.trialBracket.get(trial.id);
    this.trialBracket.delete(trial.id);
    if (bracket === undefined || !bracket.live.has(trial.id)) return;
    bracket.remove(trial.id);
    if (!bracket.finished() && !bracket.beingProcessed) this.processBracket(ctx, bracket);
  }

  onTrialComplete(ctx: SchedulerContext, trial: TrialView, _result?: TrialResult): void {
    this.removeTrial(ctx, trial);
  }

  onTrialError(ctx: SchedulerContext, trial: TrialView): void {
    this.removeTrial(ctx, trial);
  }

  onTrialRemove(ctx: SchedulerContext, trial: TrialView): void {
    this.removeTrial(ctx, trial);
  }

  chooseTrialToRun(ctx: SchedulerContext, allowRecurse = true): TrialView | undefined {
    const byId = new Map(ctx.trials().map((t) => [t.id, t]));
    const runnable = (b: Bracket, id: string) => {
      const t = byId.get(id);
      return t !== undefined && (t.status === 'PENDING' || (t.status === 'PAUSED' && b.toUnpause.has(id)));
    };
    for (const band of this.bands) {
      const brackets = band
        .filter((b): b is Bracket => b !== null)
        .sort((a, b) => a.completion() - b.completion());
      for (const b of brackets) {
        for (const id of b.live.keys()) if (runnable(b, id)) return byId.get(id);
      }
    }
    // Nothing runs and some bracket waits with paused trials (a trial of it ended early): process it now.
    if ([...byId.values()].some((t) => t.status === 'RUNNING')) return undefined;
    for (const band of this.bands) {
      for (const b of band) {
        if (b === null || ![...b.live.keys()].some((id) => byId.get(id)?.status === 'PAUSED')) continue;
        this.processBracket(ctx, b);
        if (allowRecurse && [...b.live.keys()].some((id) => runnable(b, id)))
          return this.chooseTrialToRun(ctx, false);
      }
    }
    return undefined;
  }

  saveState(): SavedState {
    const index = new Map<Bracket, [number, number]>();
    this.bands.forEach((band, i) => {
      band.forEach((b, j) => {
        if (b !== null) index.set(b, [i, j]);
      });
    });
    return {
      kind: 'HyperBandScheduler',
      metric: this.target.metric,
      mode: this.target.mode,
      bands: this.bands.map((band) => band.map((b) => b?.save() ?? null)),
      current: this.current === null ? null : index.get(this.current)!,
      bandIdx: this.bandIdx,
      trials: [...this.trialBracket].map(([id, b]) => [id, index.get(b)!]),
    };
  }

  restoreState(state: unknown): void {
    const s = state as Partial<SavedState> | null;
    if (s?.kind !== 'HyperBandScheduler' || !Array.isArray(s.bands)) {
      throw new TypeError('HyperBandScheduler.restoreState: not a state this scheduler saved');
    }
    this.target.set(s.metric ?? '', s.mode as Mode);
    this.bands = s.bands.map((band) => band.map((b) => (b === null ? null : Bracket.load(b))));
    this.bandIdx = s.bandIdx ?? 0;
    this.current = s.current ? this.bands[s.current[0]]![s.current[1]]! : null;
    this.trialBracket.clear();
    for (const [id, [i, j]] of s.trials ?? []) this.trialBracket.set(id, this.bands[i]![j]!);
  }
}

function statusOf(ctx: SchedulerContext): Map<string, TrialStatus> {
  return new Map(ctx.trials().map((t) => [t.id, t.status]));
}
