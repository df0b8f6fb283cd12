// @tray/gcs: the Global Control Service. `startGcsServer` runs it in this process, the
// `@tray/gcs/main` script as a child process; `GcsClient` is how raylets, drivers and workers
// call it.

export {
  GCS_RECONNECT_TIMEOUT_ENV,
  GcsClient,
  type GcsClientOptions,
  gcsReconnectTimeoutMs,
  type SubscribeOptions,
} from './client.js';
export type { ActorScheduler } from './managers/actor-scheduler.js';
export { jobIdFromInt } from './managers/job-manager.js';
export { DEFAULT_HEALTH_CHECK, type HealthCheckOptions } from './managers/node-health-checker.js';
export { type NodeCapacity, type Placement, placeBundles } from './managers/placement-policy.js';
export { type GcsServer, type GcsServerOptions, startGcsServer } from './server.js';
export { MemoryStorage } from './storage/memory-storage.js';
export { RedisStorage, type RedisStorageOptions, redactRedisUrl } from './storage/redis-storage.js';
export type { GcsStorage } from './storage/storage.js';
