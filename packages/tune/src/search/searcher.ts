// The interface every search algorithm implements (Ray Tune's Searcher): the Tuner asks it for
// the config of each new trial and tells it every result and every end. One algorithm per file
// in this folder (basic-variant.ts, tpe.ts, concurrency-limiter.ts, repeater.ts, ...). A searcher
// is plain synchronous logic with no I/O and no clock of its own, so its decisions can be tested
// against hand-computed sequences.
import type { Mode, TrialConfig, TrialResult } from '../types.js';

/** Returned by suggest() once the searcher will never suggest again (the experiment can end). */
export const FINISHED = Symbol.for('tray.tune.search.FINISHED');

export interface SearchProperties {
  metric: string;
  mode: Mode;
  /** The Tuner's paramSpace: nested plain objects whose leaves are values or search-space Domains. */
  paramSpace: Record<string, unknown>;
  /** tuneConfig.numSamples (Ray: num_samples), for searchers that generate a fixed number of trials. */
  numSamples: number;
  /** Seed for every random draw, so a run is reproducible. */
  seed?: number;
}

export interface Searcher {
  /** Called once before the first suggest(); false if the searcher already has its own metric/mode/space that conflict. */
  setSearchProperties(props: SearchProperties): boolean;
  /**
   * The config for a new trial, `null` when it cannot suggest one now (try again after a trial
   * completes, e.g. a ConcurrencyLimiter at its limit), or FINISHED when it never will again.
   * The searchers of this package return complete configs (paramSpace's constants copied, every
   * Domain and sampleFrom resolved) and FINISHED once numSamples configs are out
   * (BasicVariantGenerator: numSamples × the grid), so the Tuner asks until FINISHED.
   */
  suggest(trialId: string): TrialConfig | null | typeof FINISHED;
  /** An intermediate result of a trial this searcher suggested. */
  onTrialResult?(trialId: string, result: TrialResult): void;
  /** A trial ended: with its last result, or `error` true when it failed. */
  onTrialComplete(trialId: string, result?: TrialResult, error?: boolean): void;
  /** JSON-serializable state for the experiment checkpoint (Tuner.restore). */
  saveState?(): unknown;
  restoreState?(state: unknown): void;
}
