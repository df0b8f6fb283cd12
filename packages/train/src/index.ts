// @tray/train: Ray Train for tray. `import * as train from '@tray/train'` gives these names
// (LIBRARIES.md's Train section).
export { CollectiveGroupError } from './collective/errors.js';
export { initCollectiveGroup } from './collective/init.js';
export type {
  CollectiveGroup,
  CollectiveGroupSpec,
  OpOptions,
  ReduceOp,
  Tensor,
} from './collective/types.js';
