// @tray/runtime-env: runtime environments as plugins (Ray's runtime_env): the plugin
// interface and registry, the built-in plugins, driver-side packing of local directories, and
// the per-node agent with its content-addressed, reference-counted cache.
export { type AgentOptions, type AgentStats, type PreparedEnv, RuntimeEnvAgent } from './agent.js';
export { INTERNAL_ENV_VARS, MODULE_PATHS_ENV, WORKING_DIR_ENV } from './internal-env.js';
export {
  archiveContentHashes,
  DEFAULT_MAX_PACKAGE_BYTES,
  type PackedDir,
  packDirectory,
  packFile,
  unpackArchive,
} from './package-archive.js';
export { downloadPackage, PACKAGE_KV_NAMESPACE, type PackageKv, uploadPackage } from './package-store.js';
export { isPackageUri, PACKAGE_SCHEME, packageUri, parsePackageUri } from './package-uri.js';
export {
  emptyContext,
  type PluginDriverContext,
  type PluginNodeContext,
  type RuntimeEnvPlugin,
  RuntimeEnvSetupFailure,
  type WorkerStartContext,
} from './plugin.js';
export { NODE_PACKAGES_ENV } from './plugins/node-version.js';
export { BUILTIN_PLUGINS, PluginRegistry, RESERVED_FIELDS } from './registry.js';
export {
  type CommandResult,
  killCommands,
  killRecordedGroups,
  recordCommandGroups,
  runCommand,
} from './run-command.js';
export {
  configOf,
  DEFAULT_SETUP_TIMEOUT_MS,
  mergeRuntimeEnvs,
  parseRuntimeEnv,
  prepareRuntimeEnv,
  type RuntimeEnvConfig,
  type RuntimeEnvValue,
  runtimeEnvHash,
  serializeRuntimeEnv,
  validateRuntimeEnv,
} from './runtime-env.js';
export { type CacheEntry, DEFAULT_CACHE_LIMIT_BYTES, UriCache } from './uri-cache.js';
