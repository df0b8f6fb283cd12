// @tray/tune: Ray Tune for tray. `import * as tune from '@tray/tune'` gives these names
// (LIBRARIES.md's Tune section).

export {
  ASHAScheduler,
  type ASHASchedulerOptions,
  AsyncHyperBandScheduler,
} from './schedulers/async-hyperband.js';
export { FIFOScheduler } from './schedulers/fifo.js';
export { HyperBandScheduler, type HyperBandSchedulerOptions } from './schedulers/hyperband.js';
export { MedianStoppingRule, type MedianStoppingRuleOptions } from './schedulers/median-stopping.js';
export { PopulationBasedTraining, type PopulationBasedTrainingOptions } from './schedulers/pbt.js';
export type { Mutation, Mutations } from './schedulers/pbt-explore.js';
export type {
  SchedulerContext,
  SchedulerDecision,
  TrialScheduler,
  TrialStatus,
  TrialView,
} from './schedulers/trial-scheduler.js';
export { BasicVariantGenerator, type BasicVariantGeneratorOptions } from './search/basic-variant.js';
export { ConcurrencyLimiter, type ConcurrencyLimiterOptions } from './search/concurrency-limiter.js';
export { Random } from './search/random.js';
export { Repeater, type RepeaterOptions, TRIAL_INDEX } from './search/repeater.js';
export { FINISHED, type Searcher, type SearchProperties } from './search/searcher.js';
export {
  CategoricalDomain,
  choice,
  Domain,
  FloatDomain,
  FunctionDomain,
  GridSearch,
  gridSearch,
  IntegerDomain,
  lograndint,
  loguniform,
  qlograndint,
  qloguniform,
  qrandint,
  qrandn,
  quniform,
  randint,
  randn,
  type SampleSpec,
  sampleFrom,
  uniform,
} from './search/space.js';
export { TPESearch, type TPESearchOptions } from './search/tpe.js';
export type { Mode, TrialConfig, TrialResult } from './types.js';
