// Random and grid search, the Tuner's default searcher (Ray Tune's BasicVariantGenerator): the
// grid's variants numSamples times over (all of the grid for sample 0, then all for sample 1, ...,
// the grid in Ray's order), every other Domain sampled afresh for each variant from one seeded
// source. FINISHED once numSamples × grid configs are out (numSamples -1: never, as Ray's
// "infinite" samples; the Tuner's stop or time budget ends it).
import type { TrialConfig, TrialResult } from '../types.js';
import { Random } from './random.js';
import { FINISHED, type Searcher, type SearchProperties } from './searcher.js';
import { type GridVar, gridCount, gridVariant, gridVars, isPlainObject, resolveConfig } from './variants.js';

export interface BasicVariantGeneratorOptions {
  /** Seed of every draw; else SearchProperties.seed; else unseeded. */
  seed?: number;
  /** At most this many trials out at once (suggest returns null at the limit); 0 for no limit (Ray's default). */
  maxConcurrent?: number;
}

interface SavedState {
  kind: 'BasicVariantGenerator';
  rng: unknown;
  suggested: number;
  live: string[];
}

export class BasicVariantGenerator implements Searcher {
  private space: Record<string, unknown> = {};
  private grid: GridVar[] = [];
  private total = 0;
  private suggested = 0;
  private rng: Random | undefined;
  private readonly live = new Set<string>();
  private readonly maxConcurrent: number;
  private configured = false;

  constructor(private readonly options: BasicVariantGeneratorOptions = {}) {
    const m = options.maxConcurrent ?? 0;
    if (!Number.isInteger(m) || m < 0) {
      throw new RangeError(
        `BasicVariantGenerator: maxConcurrent must be a non-negative integer (0 = no limit), got ${m}`,
      );
    }
    this.maxConcurrent = m;
  }

  setSearchProperties(props: SearchProperties): boolean {
    if (!isPlainObject(props.paramSpace)) {
      throw new TypeError(
        'BasicVariantGenerator: paramSpace must be a plain object of values and tune.* domains',
      );
    }
    const n = props.numSamples;
    if (!(Number.isInteger(n) && (n >= 1 || n === -1))) {
      throw new RangeError(`numSamples must be a positive integer (or -1 for no limit), got ${n}`);
    }
    this.space = props.paramSpace;
    this.grid = gridVars(this.space);
    this.total = n === -1 ? Number.POSITIVE_INFINITY : n * gridCount(this.grid);
    this.rng ??= new Random(this.options.seed ?? props.seed);
    this.configured = true;
    return true;
  }

  /** How many configs this generator gives in all (numSamples × the grid's size). */
  get totalSamples(): number {
    return this.total;
  }

  suggest(trialId: string): TrialConfig | null | typeof FINISHED {
    if (!this.configured) throw new Error('BasicVariantGenerator.suggest before setSearchProperties');
    if (this.suggested >= this.total) return FINISHED;
    if (this.maxConcurrent > 0 && this.live.size >= this.maxConcurrent) return null;
    const n = gridCount(this.grid);
    const config = resolveConfig(this.space, gridVariant(this.grid, this.suggested % n), this.rng!);
    this.suggested++;
    this.live.add(trialId);
    return config;
  }

  onTrialResult(_trialId: string, _result: TrialResult): void {}

  onTrialComplete(trialId: string): void {
    this.live.delete(trialId);
  }

  saveState(): SavedState {
    return {
      kind: 'BasicVariantGenerator',
      rng: this.rng?.state(),
      suggested: this.suggested,
      live: [...this.live],
    };
  }

  restoreState(state: unknown): void {
    const s = state as Partial<SavedState> | null;
    if (s?.kind !== 'BasicVariantGenerator' || !Number.isInteger(s.suggested) || !Array.isArray(s.live)) {
      throw new TypeError('BasicVariantGenerator.restoreState: not a state this generator saved');
    }
    this.rng = s.rng === undefined ? this.rng : Random.fromState(s.rng);
    this.suggested = s.suggested!;
    this.live.clear();
    for (const id of s.live) this.live.add(id);
  }
}
