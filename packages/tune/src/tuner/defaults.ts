// The search algorithm and scheduler a Tuner uses when tuneConfig names none (Ray's defaults:
// random/grid search by BasicVariantGenerator, FIFO scheduling), and which searchers decide the
// number of trials themselves.
import type { TrialScheduler } from '../schedulers/trial-scheduler.js';
import type { Searcher } from '../search/searcher.js';

export function defaultSearcher(): Searcher {
  throw new Error('Tuner: no default search algorithm in this build yet; pass tuneConfig.searchAlg.');
}

export function defaultScheduler(): TrialScheduler {
  throw new Error('Tuner: no default scheduler in this build yet; pass tuneConfig.scheduler.');
}

/** Whether `searcher` ends the experiment itself (FINISHED) rather than the Tuner stopping at numSamples. */
export function countsOwnTrials(_searcher: Searcher): boolean {
  return false;
}
