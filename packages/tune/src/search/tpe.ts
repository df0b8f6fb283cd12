// The Tree-structured Parzen Estimator (Bergstra et al. 2011), written here since a JavaScript
// user has no Optuna or HyperOpt to plug in. The first nStartupTrials configs are drawn from the
// space's own distributions; after that the completed trials are split at the gamma quantile of
// the loss into good and bad, each dimension gets a Parzen estimator l(x) of the good and g(x) of
// the bad, nEiCandidates candidates are drawn from l, and the one with the largest l(x)/g(x)
// (which maximises expected improvement) is suggested. Dimensions are modelled independently (the
// univariate TPE, as HyperOpt and Optuna's default). Seeded; a gridSearch leaf is an error (TPE
// samples, it does not enumerate: use choice); sampleFrom leaves are computed from the chosen values.

import { checkMode, readNumber } from '../schedulers/metric.js';
import type { Mode, TrialConfig, TrialResult } from '../types.js';
import { Random } from './random.js';
import { FINISHED, type Searcher, type SearchProperties } from './searcher.js';
import { type Domain, FunctionDomain, GridSearch } from './space.js';
import {
  type AxisValue,
  axisOf,
  type Dimension,
  DimensionModel,
  dimensionOf,
  domainValue,
} from './tpe-dimensions.js';
import { formatPath, isPlainObject, resolveConfig, spaceLeaves } from './variants.js';

export interface TPESearchOptions {
  /** The space to search; else the Tuner's paramSpace (giving both is an error). */
  space?: Record<string, unknown>;
  metric?: string;
  mode?: Mode;
  /** Configs to try first (partial: missing leaves drawn at random), as Ray's points_to_evaluate. */
  pointsToEvaluate?: Record<string, unknown>[];
  /** Random configs before the model is used; 10 as Optuna's default. */
  nStartupTrials?: number;
  /** Candidates drawn from l(x) per suggestion; 24 as HyperOpt's and Optuna's. */
  nEiCandidates?: number;
  /** The good fraction: ceil(gamma · n) of n completed trials (0.25 as HyperOpt's), or a function n → count. */
  gamma?: number | ((n: number) => number);
  /** Weight of the prior component of every estimator (1, as both). */
  priorWeight?: number;
  /**
   * Count trials still running as bad ones (Optuna's constant_liar), so configs suggested while
   * others run spread out instead of piling onto the same spot. Off by default, as Optuna's.
   */
  constantLiar?: boolean;
  seed?: number;
}

interface Observation {
  x: AxisValue[];
  loss: number;
}

interface SavedState {
  kind: 'TPESearch';
  rng: unknown;
  suggested: number;
  observations: Observation[];
  pending: [string, AxisValue[]][];
}

export class TPESearch implements Searcher {
  private metric: string | undefined;
  private mode: Mode | undefined;
  private space: Record<string, unknown> | undefined;
  private dims: Dimension[] = [];
  private paths = new Map<string, string>();
  private numSamples = Number.POSITIVE_INFINITY;
  private rng: Random | undefined;
  private suggested = 0;
  private observations: Observation[] = [];
  private readonly pending = new Map<string, AxisValue[]>();
  private readonly nStartup: number;
  private readonly nCandidates: number;
  private readonly priorWeight: number;
  private readonly gamma: (n: number) => number;

  constructor(private readonly options: TPESearchOptions = {}) {
    this.metric = options.metric;
    this.mode = checkMode('TPESearch', options.mode);
    this.nStartup = positiveInt('nStartupTrials', options.nStartupTrials ?? 10, 0);
    this.nCandidates = positiveInt('nEiCandidates', options.nEiCandidates ?? 24, 1);
    this.priorWeight = options.priorWeight ?? 1;
    if (
      typeof this.priorWeight !== 'number' ||
      !(this.priorWeight > 0) ||
      !Number.isFinite(this.priorWeight)
    ) {
      throw new RangeError(
        `TPESearch: priorWeight must be a positive number, got ${JSON.stringify(this.priorWeight)}`,
      );
    }
    const g = options.gamma ?? 0.25;
    if (typeof g === 'number') {
      if (!(g > 0 && g < 1)) throw new RangeError(`TPESearch: gamma must be in (0, 1), got ${g}`);
      this.gamma = (n) => Math.ceil(g * n);
    } else if (typeof g === 'function') this.gamma = g;
    else throw new TypeError('TPESearch: gamma must be a number in (0, 1) or a function n => count');
    if (options.space !== undefined) this.setSpace(options.space);
  }

  setSearchProperties(props: SearchProperties): boolean {
    const given = props.paramSpace !== undefined && spaceLeaves(props.paramSpace).length > 0;
    if (this.space !== undefined && this.options.space !== undefined && given) return false;
    if (props.metric && this.metric && props.metric !== this.metric) return false;
    if (props.mode && this.mode && props.mode !== this.mode) return false;
    this.metric ||= props.metric;
    this.mode ??= checkMode('TPESearch', props.mode);
    if (this.options.space === undefined) this.setSpace(props.paramSpace ?? {});
    const n = props.numSamples;
    if (!(Number.isInteger(n) && (n >= 1 || n === -1))) {
      throw new RangeError(`numSamples must be a positive integer (or -1 for no limit), got ${n}`);
    }
    this.numSamples = n === -1 ? Number.POSITIVE_INFINITY : n;
    this.rng ??= new Random(this.options.seed ?? props.seed);
    return true;
  }

  private setSpace(space: Record<string, unknown>): void {
    if (!isPlainObject(space))
      throw new TypeError('TPESearch: the space must be a plain object of values and tune.* domains');
    const dims: Dimension[] = [];
    this.paths.clear();
    for (const leaf of spaceLeaves(space)) {
      if (leaf.leaf instanceof GridSearch) {
        throw new TypeError(
          `TPESearch cannot search gridSearch at ${formatPath(leaf.path)}: TPE samples, it does not enumerate. ` +
            'Use tune.choice([...]) there, or BasicVariantGenerator for a grid',
        );
      }
      if (leaf.leaf instanceof FunctionDomain) continue;
      const d = dimensionOf(leaf.key, leaf.leaf as Domain);
      if (d === undefined)
        throw new TypeError(`TPESearch cannot model the domain at ${formatPath(leaf.path)}`);
      dims.push(d);
      this.paths.set(leaf.key, formatPath(leaf.path));
    }
    this.space = space;
    this.dims = dims;
  }

  suggest(trialId: string): TrialConfig | null | typeof FINISHED {
    if (this.space === undefined || this.rng === undefined) {
      throw new Error('TPESearch.suggest before setSearchProperties');
    }
    if (!this.metric || !this.mode) {
      throw new Error(
        "TPESearch needs a metric and a mode; give them to it or to tuneConfig ({ metric: 'loss', mode: 'min' })",
      );
    }
    if (this.suggested >= this.numSamples) return FINISHED;
    const point = this.options.pointsToEvaluate?.[this.suggested];
    let x: AxisValue[];
    if (point !== undefined) x = this.fromPoint(point);
    else if (this.observations.length < Math.max(this.nStartup, 1))
      x = this.dims.map((d) => this.randomAxis(d));
    else x = this.fromModel();
    this.suggested++;
    this.pending.set(trialId, x);
    const fixed = new Map<string, unknown>(this.dims.map((d, i) => [d.key, domainValue(d, x[i]!)]));
    return resolveConfig(this.space, fixed, this.rng);
  }

  private randomAxis(d: Dimension): AxisValue {
    const leaf = spaceLeaves(this.space).find((l) => l.key === d.key)!.leaf as Domain;
    return axisOf(d, leaf.sample(this.rng!));
  }

  private fromPoint(point: Record<string, unknown>): AxisValue[] {
    return this.dims.map((d) => {
      let v: unknown = point;
      for (const p of JSON.parse(d.key) as (string | number)[]) v = (v as any)?.[p];
      if (v === undefined) return this.randomAxis(d);
      const x = axisOf(d, v);
      if (d.type === 'categorical' ? x < 0 : typeof v !== 'number' || Number.isNaN(x)) {
        throw new TypeError(
          `TPESearch: pointsToEvaluate gives ${JSON.stringify(v)} for ${this.paths.get(d.key)}, which its domain cannot produce`,
        );
      }
      return x;
    });
  }

  /** The fitted models, kept until the next completion (suggestions between completions share them). */
  private models: { fitted: string; models: DimensionModel[] } | undefined;

  private fit(): DimensionModel[] {
    const liar = this.options.constantLiar === true;
    // Refit after a completion (and, lying, after each suggestion: the pending set changed).
    const fitted = `${this.observations.length}:${liar ? this.pending.size : 0}`;
    if (this.models?.fitted === fitted) return this.models.models;
    const sorted = [...this.observations].sort((a, b) => a.loss - b.loss);
    const nGood = Math.min(Math.max(1, Math.floor(this.gamma(sorted.length))), sorted.length - 1 || 1);
    const good = sorted.slice(0, nGood);
    const bad = sorted.slice(nGood);
    if (liar) for (const x of this.pending.values()) bad.push({ x, loss: Number.POSITIVE_INFINITY });
    const models = this.dims.map(
      (d, i) =>
        new DimensionModel(
          d,
          good.map((o) => o.x[i]!),
          bad.map((o) => o.x[i]!),
          this.priorWeight,
        ),
    );
    this.models = { fitted, models };
    return models;
  }

  private fromModel(): AxisValue[] {
    const models = this.fit();
    let best: AxisValue[] = [];
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < this.nCandidates; c++) {
      const x = models.map((m) => m.sample(this.rng!));
      const score = models.reduce((s, m, i) => s + m.score(x[i]!), 0);
      if (score > bestScore || best.length === 0) {
        best = x;
        bestScore = score;
      }
    }
    return best;
  }

  onTrialResult(_trialId: string, _result: TrialResult): void {}

  onTrialComplete(trialId: string, result?: TrialResult, error = false): void {
    const x = this.pending.get(trialId);
    if (x === undefined) return;
    this.pending.delete(trialId);
    if (error || result === undefined) return;
    const v = readNumber('TPESearch', result, this.metric!);
    this.observations.push({ x, loss: this.mode === 'max' ? -v : v });
  }

  /** Completed trials the model has learned from. */
  get observationCount(): number {
    return this.observations.length;
  }

  saveState(): SavedState {
    return {
      kind: 'TPESearch',
      rng: this.rng?.state(),
      suggested: this.suggested,
      observations: this.observations,
      pending: [...this.pending],
    };
  }

  restoreState(state: unknown): void {
    const s = state as Partial<SavedState> | null;
    if (s?.kind !== 'TPESearch' || !Array.isArray(s.observations) || !Number.isInteger(s.suggested)) {
      throw new TypeError('TPESearch.restoreState: not a state this searcher saved');
    }
    if (s.rng !== undefined) this.rng = Random.fromState(s.rng);
    this.suggested = s.suggested!;
    this.observations = s.observations.map((o) => ({ x: [...o.x], loss: o.loss }));
    this.models = undefined;
    this.pending.clear();
    for (const [id, x] of s.pending ?? []) this.pending.set(id, x);
  }
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min)
    throw new RangeError(`TPESearch: ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}
