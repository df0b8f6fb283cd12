// The search algorithm and scheduler a Tuner uses when tuneConfig names none (Ray's defaults:
// random/grid search by BasicVariantGenerator, FIFO scheduling), and which searchers decide the
// number of trials themselves.
import { FIFOScheduler } from '../schedulers/fifo.js';
import type { TrialScheduler } from '../schedulers/trial-scheduler.js';
import { BasicVariantGenerator } from '../search/basic-variant.js';
import type { Searcher } from '../search/searcher.js';

export function defaultSearcher(): Searcher {
  return new BasicVariantGenerator();
}

export function defaultScheduler(): TrialScheduler {
  return new FIFOScheduler();
}

/**
 * Whether `searcher` ends the experiment itself (FINISHED after numSamples × the grid), rather
 * than the Tuner stopping at numSamples trials (Ray's SearchGenerator around any other searcher).
 */
export function countsOwnTrials(searcher: Searcher): boolean {
  return searcher instanceof BasicVariantGenerator;
}
