// The environment variables tray itself sets in a worker (docs/processes.md): a runtime env's
// `envVars` may not set these, and nothing else — a user's own TRAY_MODE is theirs.
export const INTERNAL_ENV_VARS: ReadonlySet<string> = new Set([
  'TRAY_RAYLET_SOCKET',
  'TRAY_STORE_SOCKET',
  'TRAY_GCS_ADDRESS',
  'TRAY_TOKEN',
  'TRAY_NODE_ID',
  'TRAY_NODE_IP',
  'TRAY_WORKER_ID',
  'TRAY_STARTUP_TOKEN',
  'TRAY_SESSION_DIR',
  'TRAY_RUNTIME_ENV_HASH',
  'TRAY_RUNTIME_ENV_WORKING_DIR',
  'TRAY_RUNTIME_ENV_MODULE_PATHS',
]);

/** Where the worker's remote code resolves modules from first (JSON array of directories). */
export const MODULE_PATHS_ENV = 'TRAY_RUNTIME_ENV_MODULE_PATHS';
/** The runtime env's working directory on this node (remote code resolves from it). */
export const WORKING_DIR_ENV = 'TRAY_RUNTIME_ENV_WORKING_DIR';
