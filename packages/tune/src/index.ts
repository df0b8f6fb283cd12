// @tray/tune: Ray Tune for tray. `import * as tune from '@tray/tune'` gives these names
// (LIBRARIES.md's Tune section).

export type {
  SchedulerContext,
  SchedulerDecision,
  TrialScheduler,
  TrialStatus,
  TrialView,
} from './schedulers/trial-scheduler.js';
export { FINISHED, type Searcher, type SearchProperties } from './search/searcher.js';
export type { Mode, TrialConfig, TrialResult } from './types.js';
