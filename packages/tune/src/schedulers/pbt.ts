// Population-based training (Ray Tune's PopulationBasedTraining, asynchronous): every
// perturbationInterval of timeAttr a trial's latest score places it in the population of live
// trials; a trial in the bottom quantileFraction is told to exploit — restart from the latest
// checkpoint of a trial in the top quantile with that trial's config explored (pbt-explore.ts).
// Only top trials that have reported a checkpoint can be cloned; with none, the trial continues.
// While other trials wait (PENDING or PAUSED) a trial at its perturbation point pauses, so a
// population larger than the cluster takes turns.

import { Random } from '../search/random.js';
import type { Mode, TrialConfig, TrialResult } from '../types.js';
import { MetricTarget, numberOption, readNumber, stringOption } from './metric.js';
import { checkMutations, explore, type Mutations } from './pbt-explore.js';
import type { SchedulerContext, SchedulerDecision, TrialScheduler, TrialView } from './trial-scheduler.js';

export interface PopulationBasedTrainingOptions {
  timeAttr?: string;
  metric?: string;
  mode?: Mode;
  perturbationInterval?: number;
  burnInPeriod?: number;
  hyperparamMutations?: Mutations;
  quantileFraction?: number;
  resampleProbability?: number;
  perturbationFactors?: readonly number[];
  customExploreFn?: (config: TrialConfig) => TrialConfig;
  seed?: number;
}

interface TrialState {
  lastScore?: number;
  lastPerturbationTime: number;
  lastTrainTime: number;
}

interface SavedState {
  kind: 'PopulationBasedTraining';
  metric?: string;
  mode?: Mode;
  trials: [string, TrialState][];
  rng: unknown;
  perturbations: number;
}

export class PopulationBasedTraining implements TrialScheduler {
  readonly timeAttr: string;
  readonly perturbationInterval: number;
  readonly burnInPeriod: number;
  readonly quantileFraction: number;
  readonly resampleProbability: number;
  readonly perturbationFactors: readonly number[];
  private readonly mutations: Mutations;
  private readonly customExploreFn?: (config: TrialConfig) => TrialConfig;
  private readonly target: MetricTarget;
  private state = new Map<string, TrialState>();
  private rng: Random;
  /** How many exploits this scheduler decided. */
  numPerturbations = 0;

  constructor(options: PopulationBasedTrainingOptions = {}) {
    const who = 'PopulationBasedTraining';
    this.timeAttr = stringOption(who, 'timeAttr', options.timeAttr ?? 'time_total_s');
    this.perturbationInterval = numberOption(who, 'perturbationInterval', options.perturbationInterval ?? 60);
    this.burnInPeriod = numberOption(who, 'burnInPeriod', options.burnInPeriod ?? 0);
    this.quantileFraction = numberOption(who, 'quantileFraction', options.quantileFraction ?? 0.25);
    this.resampleProbability = numberOption(who, 'resampleProbability', options.resampleProbability ?? 0.25);
    this.perturbationFactors = options.perturbationFactors ?? [1.2, 0.8];
    this.mutations = options.hyperparamMutations ?? {};
    this.customExploreFn = options.customExploreFn;
    if (Object.keys(this.mutations).length === 0 && this.customExploreFn === undefined) {
      throw new TypeError(
        `${who}: give hyperparamMutations or customExploreFn (or both), so it knows how to explore`,
      );
    }
    checkMutations(this.mutations);
    if (!(this.perturbationInterval > 0)) {
      throw new RangeError(`${who}: perturbationInterval must be positive, got ${this.perturbationInterval}`);
    }
    if (!(this.quantileFraction >= 0 && this.quantileFraction <= 0.5)) {
      throw new RangeError(
        `${who}: quantileFraction must be between 0 and 0.5, got ${this.quantileFraction}`,
      );
    }
    if (!(this.resampleProbability >= 0 && this.resampleProbability <= 1)) {
      throw new RangeError(
        `${who}: resampleProbability must be between 0 and 1, got ${this.resampleProbability}`,
      );
    }
    if (
      !Array.isArray(this.perturbationFactors) ||
      this.perturbationFactors.length === 0 ||
      !this.perturbationFactors.every((f) => typeof f === 'number' && Number.isFinite(f))
    ) {
      throw new TypeError(`${who}: perturbationFactors must be a non-empty list of numbers, e.g. [1.2, 0.8]`);
    }
    this.target = new MetricTarget(who, options.metric, options.mode);
    this.rng = new Random(options.seed);
  }

  setSearchProperties(metric: string, mode: Mode): boolean {
    return this.target.set(metric, mode);
  }

  onTrialAdd(_ctx: SchedulerContext, trial: TrialView): void {
    this.target.check();
    for (const key of Object.keys(this.mutations)) {
      if (!(key in trial.config)) {
        throw new Error(
          `PopulationBasedTraining: hyperparamMutations has "${key}" but trial ${trial.id}'s config does not; ` +
            `add ${key} to paramSpace (e.g. ${key}: tune.uniform(...)) so every trial starts with a value`,
        );
      }
    }
    // Added again (a restore): keeps its perturbation clock.
    if (!this.state.has(trial.id)) this.state.set(trial.id, { lastPerturbationTime: 0, lastTrainTime: 0 });
  }

  onTrialResult(ctx: SchedulerContext, trial: TrialView, result: TrialResult): SchedulerDecision {
    const who = 'PopulationBasedTraining';
    const t = readNumber(who, result, this.timeAttr);
    const score = this.target.score(result);
    let st = this.state.get(trial.id);
    if (st === undefined) this.state.set(trial.id, (st = { lastPerturbationTime: 0, lastTrainTime: 0 }));
    if (t < this.burnInPeriod) return 'CONTINUE';
    if (t - st.lastPerturbationTime < this.perturbationInterval) return 'CONTINUE';
    st.lastScore = score;
    st.lastTrainTime = t;
    st.lastPerturbationTime = t;
    const { lower, upper } = this.quantiles(ctx, trial.id);
    if (lower.includes(trial.id)) {
      const byId = new Map(ctx.trials().map((x) => [x.id, x]));
      const donors = upper.filter((id) => id !== trial.id && byId.get(id)?.hasCheckpoint);
      if (donors.length > 0) {
        const from = donors[this.rng.integer(0, donors.length)]!;
        const config = explore(byId.get(from)!.config, this.mutations, this.rng, {
          resampleProbability: this.resampleProbability,
          perturbationFactors: this.perturbationFactors,
          customExploreFn: this.customExploreFn,
        });
        const donor = this.state.get(from)!;
        st.lastPerturbationTime = donor.lastPerturbationTime;
        st.lastTrainTime = donor.lastTrainTime;
        this.numPerturbations++;
        return { exploit: { fromTrialId: from, config } };
      }
    }
    const waiting = ctx
      .trials()
      .some((x) => x.id !== trial.id && (x.status === 'PENDING' || x.status === 'PAUSED'));
    return waiting ? 'PAUSE' : 'CONTINUE';
  }

  /** The live trials with a score, worst first: the bottom and top ceil(n · quantileFraction) (at most n/2). */
  private quantiles(ctx: SchedulerContext, self: string): { lower: string[]; upper: string[] } {
    const finished = new Set(
      ctx
        .trials()
        .filter((x) => x.status === 'TERMINATED' || x.status === 'ERROR')
        .map((x) => x.id),
    );
    const scored = [...this.state]
      .filter(([id, s]) => s.lastScore !== undefined && (id === self || !finished.has(id)))
      .sort((a, b) => a[1].lastScore! - b[1].lastScore!)
      .map(([id]) => id);
    if (scored.length <= 1) return { lower: [], upper: [] };
    let k = Math.ceil(scored.length * this.quantileFraction);
    if (k > scored.length / 2) k = Math.floor(scored.length / 2);
    return { lower: scored.slice(0, k), upper: k === 0 ? [] : scored.slice(-k) };
  }

  onTrialComplete(_ctx: SchedulerContext, trial: TrialView, _result?: TrialResult): void {
    this.state.delete(trial.id);
  }

  onTrialError(_ctx: SchedulerContext, trial: TrialView): void {
    this.state.delete(trial.id);
  }

  onTrialRemove(_ctx: SchedulerContext, trial: TrialView): void {
    this.state.delete(trial.id);
  }

  chooseTrialToRun(ctx: SchedulerContext): TrialView | undefined {
    const trials = ctx.trials();
    // Ray's fair share: of the waiting trials, the one furthest behind in timeAttr (a new one is at 0).
    const waiting = trials.filter((t) => t.status === 'PENDING' || t.status === 'PAUSED');
    waiting.sort(
      (a, b) => (this.state.get(a.id)?.lastTrainTime ?? 0) - (this.state.get(b.id)?.lastTrainTime ?? 0),
    );
    return waiting[0];
  }

  saveState(): SavedState {
    return {
      kind: 'PopulationBasedTraining',
      metric: this.target.metric,
      mode: this.target.mode,
      trials: [...this.state].map(([id, s]) => [id, { ...s }]),
      rng: this.rng.state(),
      perturbations: this.numPerturbations,
    };
  }

  restoreState(state: unknown): void {
    const s = state as Partial<SavedState> | null;
    if (s?.kind !== 'PopulationBasedTraining' || !Array.isArray(s.trials)) {
      throw new TypeError('PopulationBasedTraining.restoreState: not a state this scheduler saved');
    }
    this.target.set(s.metric ?? '', s.mode as Mode);
    this.state = new Map(s.trials.map(([id, st]) => [id, { ...st }]));
    this.rng = Random.fromState(s.rng);
    this.numPerturbations = s.perturbations ?? 0;
  }
}
