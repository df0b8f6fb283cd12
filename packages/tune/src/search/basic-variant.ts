// Random and grid search, the Tuner's default searcher (Ray Tune's BasicVariantGenerator): the
// grid's variants numSamples times over (all of the grid for sample 0, then all for sample 1, ...,
// the grid in Ray's order), every other Domain sampled afresh for each variant from one seeded
// source. FINISHED once numSamples × grid configs are out (numSamples -1: never, as Ray's
// "infinite" samples; the Tuner's stop or time budget ends it). pointsToEvaluate come first, each
// taking the place of one of the numSamples (as Ray's): its values replace the space's leaves at
// the same paths, the rest is sampled, and a grid it does not fix is still expanded. With
// constantGridSearch the random leaves are drawn once per sample and shared by its grid variants.
import type { TrialConfig, TrialResult } from '../types.js';
import { Random } from './random.js';
import { FINISHED, type Searcher, type SearchProperties } from './searcher.js';
import { Domain, FunctionDomain } from './space.js';
import {
  type GridVar,
  gridCount,
  gridVariant,
  gridVars,
  isPlainObject,
  resolveConfig,
  spaceLeaves,
} from './variants.js';

export interface BasicVariantGeneratorOptions {
  /** Seed of every draw; else SearchProperties.seed; else unseeded. */
  seed?: number;
  /** At most this many trials out at once (suggest returns null at the limit); 0 for no limit (Ray's default). */
  maxConcurrent?: number;
  /** Configs to run first, partial or whole (Ray's points_to_evaluate). */
  pointsToEvaluate?: Record<string, unknown>[];
  /**
   * Draw the random leaves once per sample and keep them across that sample's grid variants
   * (Ray's constant_grid_search), so the grid is compared at equal random values. sampleFrom
   * leaves are still computed per variant.
   */
  constantGridSearch?: boolean;
}

/** A run of variants from one space: a point's (the space with the point's values in) or the space's own. */
interface Segment {
  space: Record<string, unknown>;
  grid: GridVar[];
  count: number;
}

/** One draw of every Domain leaf of space that is not a sampleFrom (those depend on the variant). */
function drawLeaves(space: Record<string, unknown>, rng: Random): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const l of spaceLeaves(space)) {
    if (l.leaf instanceof Domain && !(l.leaf instanceof FunctionDomain)) out.set(l.key, l.leaf.sample(rng));
  }
  return out;
}

/** space with point's values put at the same paths (nested objects merged, anything else replaced). */
function withPoint(space: Record<string, unknown>, point: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...space };
  for (const [k, v] of Object.entries(point)) {
    const here = space[k];
    const grid = isPlainObject(here) && Object.keys(here).length === 1 && 'grid_search' in here;
    out[k] = isPlainObject(v) && isPlainObject(here) && !grid ? withPoint(here, v) : v;
  }
  return out;
}

interface SavedState {
  kind: 'BasicVariantGenerator';
  rng: unknown;
  suggested: number;
  live: string[];
  constants?: [string, unknown][];
}

export class BasicVariantGenerator implements Searcher {
  private segments: Segment[] = [];
  private total = 0;
  private suggested = 0;
  private rng: Random | undefined;
  private readonly live = new Set<string>();
  /** constantGridSearch: the random leaves drawn for the current sample, by path key. */
  private constants = new Map<string, unknown>();
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
    const points = options.pointsToEvaluate ?? [];
    if (!Array.isArray(points) || !points.every(isPlainObject)) {
      throw new TypeError('BasicVariantGenerator: pointsToEvaluate must be a list of config objects');
    }
  }

  setSearchProperties(props: SearchProperties): boolean {
    props = { ...props, paramSpace: props.paramSpace ?? {} }; // no paramSpace: one empty config, as Ray's {}
    if (!isPlainObject(props.paramSpace)) {
      throw new TypeError(
        'BasicVariantGenerator: paramSpace must be a plain object of values and tune.* domains',
      );
    }
    const n = props.numSamples;
    if (!(Number.isInteger(n) && (n >= 1 || n === -1))) {
      throw new RangeError(`numSamples must be a positive integer (or -1 for no limit), got ${n}`);
    }
    const points = this.options.pointsToEvaluate ?? [];
    this.segments = points.map((p) => {
      const space = withPoint(props.paramSpace, p);
      const grid = gridVars(space);
      return { space, grid, count: gridCount(grid) };
    });
    const grid = gridVars(props.paramSpace);
    const rest = n === -1 ? Number.POSITIVE_INFINITY : Math.max(n - points.length, 0);
    this.segments.push({ space: props.paramSpace, grid, count: rest * gridCount(grid) });
    this.total = this.segments.reduce((a, g) => a + g.count, 0);
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
    let k = this.suggested;
    let seg = this.segments[0]!;
    for (seg of this.segments) {
      if (k < seg.count) break;
      k -= seg.count;
    }
    const variant = k % gridCount(seg.grid);
    const fixed = gridVariant(seg.grid, variant);
    if (this.options.constantGridSearch) {
      if (variant === 0) this.constants = drawLeaves(seg.space, this.rng!);
      for (const [key, v] of this.constants) if (!fixed.has(key)) fixed.set(key, v);
    }
    const config = resolveConfig(seg.space, fixed, this.rng!);
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
    this.constants = new Map(s.constants ?? []);
  }
}
