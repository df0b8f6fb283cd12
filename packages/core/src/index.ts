// @tray/core: the public API of API.md. `import * as tray from '@tray/core'` (ESM) and
// `require('@tray/core')` (CJS) both give exactly these names.

export { exitActor } from './actor/actor-context.js';
export { type GetActorOptions, getActor, type KillOptions, kill } from './api/actor/actor-api.js';
export { ActorClass } from './api/actor/actor-class.js';
export type { ActorHandle, ActorMethod, ActorMethodOptions } from './api/actor/actor-handle.js';
export type { ActorOptions, ConcurrencyGroupOption } from './api/actor/actor-options.js';
export {
  availableResources,
  clusterResources,
  dashboardUrl,
  getRuntimeContext,
  init,
  isInitialized,
  type NodeInfo,
  nodes,
  type RuntimeContext,
  shutdown,
} from './api/cluster.js';
export { experimental } from './api/experimental.js';
export type { InitOptions } from './api/init-options.js';
export type { KvValue } from './api/internal-kv.js';
export {
  type CancelOptions,
  cancel,
  type GetOptions,
  get,
  put,
  type WaitOptions,
  wait,
} from './api/objects.js';
export {
  type Bundle,
  type GetPlacementGroupOptions,
  getPlacementGroup,
  PlacementGroup,
  type PlacementGroupOptions,
  type PlacementStrategy,
  placementGroup,
  removePlacementGroup,
} from './api/placement-group.js';
export { type RemoteClassOptions, type RemoteOptions, remote } from './api/remote.js';
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
  PendingCallsLimitExceededError,
  RuntimeEnvSetupError,
  SerializationError,
  TaskCancelledError,
  TaskError,
  TrayError,
  WorkerCrashedError,
} from './errors.js';
export { ObjectRefGenerator } from './runtime/generator.js';
export { ObjectRef } from './runtime/object-ref.js';
