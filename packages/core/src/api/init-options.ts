// tray.init()'s options: the InitOptions type of API.md and the check that turns a wrong option
// into a TypeError naming it (moved out of cluster.ts, which starts and joins clusters).
import { describeValue } from './describe-value.js';
import type { RuntimeEnvOptions } from './task-options.js';

export interface InitOptions {
  /** `host:port` of a running cluster's GCS (or env TRAY_ADDRESS); omitted: start one here. */
  address?: string;
  /** The cluster token when joining (or env TRAY_TOKEN, or the session directory's token file). */
  token?: string;
  numCpus?: number;
  numGpus?: number;
  resources?: Record<string, number>;
  memory?: number;
  objectStoreMemory?: number;
  namespace?: string;
  runtimeEnv?: RuntimeEnvOptions;
  /**
   * Files of runtime-env plugins (each exporting a RuntimeEnvPlugin of @tray/runtime-env): this
   * driver checks envs with them and a local cluster's raylet sets them up. A cluster started
   * with `tray start` loads its own (`--runtime-env-plugins`).
   */
  runtimeEnvPlugins?: string[];
  /** Print what tasks print, prefixed with the worker (default true). */
  logToDriver?: boolean;
  /**
   * The raylet's memory monitor kills a worker (newest retriable task first) when the node uses
   * more than this fraction of its memory (default 0.95, Ray's). A local cluster only.
   */
  memoryUsageThreshold?: number;
  /** How often the memory monitor looks, ms (default 250; 0 turns it off). A local cluster only. */
  memoryMonitorRefreshMs?: number;
  /**
   * Start the dashboard with a local cluster (default true; needs @tray/dashboard installed, as
   * Ray's needs ray[default]). It starts in the background; see dashboardUrl().
   */
  includeDashboard?: boolean;
  /** The dashboard's address to bind (default 127.0.0.1). A local cluster only. */
  dashboardHost?: string;
  /** The dashboard's port (default 8265; taken → the next free, then any). A local cluster only. */
  dashboardPort?: number;
}

const INIT_KEYS = [
  'address',
  'token',
  'numCpus',
  'numGpus',
  'resources',
  'memory',
  'objectStoreMemory',
  'namespace',
  'runtimeEnv',
  'runtimeEnvPlugins',
  'logToDriver',
  'memoryUsageThreshold',
  'memoryMonitorRefreshMs',
  'includeDashboard',
  'dashboardHost',
  'dashboardPort',
];

export function checkInitOptions(options: unknown): InitOptions {
  if (options === undefined) return {};
  const fail = (m: string): never => {
    throw new TypeError(`tray.init: ${m}`);
  };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail(`options must be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!INIT_KEYS.includes(k)) fail(`unknown option ${JSON.stringify(k)} (known: ${INIT_KEYS.join(', ')})`);
  }
  for (const k of ['numCpus', 'numGpus', 'memory', 'objectStoreMemory']) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      fail(`${k} must be a non-negative number, got ${describeValue(v)}`);
    }
  }
  const threshold = o.memoryUsageThreshold;
  if (threshold !== undefined && (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1))) {
    fail(
      `memoryUsageThreshold must be a fraction of the node's memory in (0, 1], got ${describeValue(threshold)}`,
    );
  }
  const refresh = o.memoryMonitorRefreshMs;
  if (refresh !== undefined && (typeof refresh !== 'number' || !Number.isFinite(refresh) || refresh < 0)) {
    fail(
      `memoryMonitorRefreshMs must be a non-negative number of milliseconds, got ${describeValue(refresh)}`,
    );
  }
  if (o.numGpus !== undefined && !Number.isInteger(o.numGpus))
    fail(`numGpus must be a whole number, got ${o.numGpus}`);
  for (const k of ['address', 'token', 'namespace']) {
    if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k] === '')) {
      fail(`${k} must be a non-empty string, got ${describeValue(o[k])}`);
    }
  }
  if (o.address !== undefined && !/^[^:\s]+:\d+$/.test(o.address as string)) {
    fail(`address must be "host:port" (the GCS of a running cluster), got ${JSON.stringify(o.address)}`);
  }
  for (const k of ['logToDriver', 'includeDashboard']) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean')
      fail(`${k} must be a boolean, got ${describeValue(o[k])}`);
  }
  if (o.dashboardHost !== undefined && (typeof o.dashboardHost !== 'string' || o.dashboardHost === '')) {
    fail(
      `dashboardHost must be an address to bind (e.g. "127.0.0.1"), got ${describeValue(o.dashboardHost)}`,
    );
  }
  const port = o.dashboardPort;
  if (
    port !== undefined &&
    (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)
  ) {
    fail(`dashboardPort must be a port number 0-65535 (0: any free port), got ${describeValue(port)}`);
  }
  if (o.resources !== undefined) {
    if (o.resources === null || typeof o.resources !== 'object' || Array.isArray(o.resources)) {
      fail(`resources must be an object of name → quantity, got ${describeValue(o.resources)}`);
    }
    for (const [k, v] of Object.entries(o.resources as object)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        fail(`resources.${k} must be a non-negative number, got ${describeValue(v)}`);
      }
    }
  }
  if (
    o.runtimeEnvPlugins !== undefined &&
    !(
      Array.isArray(o.runtimeEnvPlugins) &&
      o.runtimeEnvPlugins.every((f) => typeof f === 'string' && f !== '')
    )
  ) {
    fail(
      `runtimeEnvPlugins must be an array of plugin file paths, got ${describeValue(o.runtimeEnvPlugins)}`,
    );
  }
  if (o.runtimeEnv !== undefined && (o.runtimeEnv === null || typeof o.runtimeEnv !== 'object')) {
    fail(`runtimeEnv must be an object, got ${describeValue(o.runtimeEnv)}`);
  }
  return o as InitOptions;
}
