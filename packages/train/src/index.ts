// @tray/train: Ray Train for tray. `import * as train from '@tray/train'` gives these names
// (LIBRARIES.md's Train section).
export type { CollectiveGroup, CollectiveGroupSpec, ReduceOp, Tensor } from './collective/types.js';
