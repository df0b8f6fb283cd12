// @tray/train: Ray Train for tray. `import * as train from '@tray/train'` gives these names
// (LIBRARIES.md's Train section).
export { Checkpoint } from './checkpoint.js';
export { CollectiveGroupError } from './collective/errors.js';
export { initCollectiveGroup } from './collective/init.js';
export type {
  AllReduceOptions,
  CollectiveGroup,
  CollectiveGroupSpec,
  OpOptions,
  ReduceOp,
  Tensor,
} from './collective/types.js';
export type {
  CheckpointConfig,
  FailureConfig,
  PlacementStrategy,
  RunConfig,
  ScalingConfig,
  TrainerOptions,
} from './config.js';
export { type Result, TrainingFailedError } from './run.js';
export {
  allGather,
  allReduce,
  barrier,
  broadcast,
  getCheckpoint,
  getContext,
  getDatasetShard,
  reduceScatter,
  report,
  sharedArray,
  type TrainContext,
} from './session/api.js';
export { DataParallelTrainer, type TrainLoop } from './trainer.js';
export type { TrainerTrainable } from './tune-trainable.js';
