// @tray/core: the public API of API.md. `import * as tray from '@tray/core'` (ESM) and
// `require('@tray/core')` (CJS) both give exactly these names.
export {
  availableResources,
  clusterResources,
  getRuntimeContext,
  type InitOptions,
  init,
  isInitialized,
  type NodeInfo,
  nodes,
  type RuntimeContext,
  shutdown,
} from './api/cluster.js';
export {
  type CancelOptions,
  cancel,
  type GetOptions,
  get,
  put,
  type WaitOptions,
  wait,
} from './api/objects.js';
export { type RemoteOptions, remote } from './api/remote.js';
export { type RemoteArgs, RemoteFunction, type RemoteResult } from './api/remote-function.js';
export type { RuntimeEnvOptions, SchedulingStrategy, TaskOptions } from './api/task-options.js';
export {
  ActorDiedError,
  ActorUnavailableError,
  GetTimeoutError,
  NodeDiedError,
  ObjectLostError,
  ObjectStoreFullError,
  OutOfMemoryError,
  OwnerDiedError,
  RuntimeEnvSetupError,
  SerializationError,
  TaskCancelledError,
  TaskError,
  TrayError,
  WorkerCrashedError,
} from './errors.js';
export { ObjectRefGenerator } from './runtime/generator.js';
export { ObjectRef } from './runtime/object-ref.js';
