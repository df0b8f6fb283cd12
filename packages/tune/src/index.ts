// @tray/tune: Ray Tune for tray. `import * as tune from '@tray/tune'` gives these names
// (LIBRARIES.md's Tune section).

export { Checkpoint } from './checkpoint.js';
export { type Result, ResultGrid, type Scope } from './result-grid.js';
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
export {
  getCheckpoint,
  getContext,
  type ReportOptions,
  report,
  type TrialContext,
  type TrialSession,
} from './session.js';
export {
  type TrainableInput,
  type TrainableSource,
  withParameters,
  withResources,
} from './trainable/define.js';
export { PlacementGroupFactory, type ResourceRequest } from './trainable/resources.js';
export { type StepResult, Trainable } from './trainable/trainable.js';
export type {
  CheckpointConfig,
  FailureConfig,
  RunConfig,
  StopCondition,
  TuneConfig,
  TunerOptions,
} from './tuner/config.js';
export { type RestoreOptions, TrialError, Tuner } from './tuner/tuner.js';
export type { Mode, TrialConfig, TrialResult } from './types.js';
