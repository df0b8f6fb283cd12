// Task options of API.md (`tray.remote(fn, opts)` and `.options(opts)`): their types, checks
// that say what was expected, defaults (Ray's: 1 CPU, 3 retries for crashes, exceptions not
// retried) and how they become the resources and fields of a task spec.
import type { tray } from '@tray/protocol';
import { runtimeEnvPlugins } from '../runtime/runtime-env.js';
import { describeValue } from './describe-value.js';
import {
  type PlacementGroup,
  placementGroupStrategy,
  placementGroupStrategyProblem,
} from './placement-group.js';

export type SchedulingStrategy =
  | 'DEFAULT'
  | 'SPREAD'
  | { nodeId: string; soft: boolean }
  /** Run in a bundle of the group (`bundleIndex` -1 or left out: any of its bundles). */
  | { placementGroup: PlacementGroup; bundleIndex?: number };

/** A runtime env (API.md; @tray/runtime-env's plugins check each field). */
export interface RuntimeEnvOptions {
  envVars?: Record<string, string>;
  /** A local directory: packed, uploaded once, and the workers' current directory. */
  workingDir?: string;
  /** Gitignore-like patterns left out of workingDir and modules (with their .trayignore). */
  excludes?: string[];
  /** Local package directories importable by their names. */
  modules?: string[];
  /**
   * Package specs ('name@version', local .tgz files or package directories); with `lockfile`
   * (a package-lock.json's path) the node installs them with `npm ci` from it.
   */
  npm?: string[] | { packages: string[]; lockfile?: string };
  /** The Node release the worker runs on ('22'). */
  nodeVersion?: string;
  /** Run the worker in a bubblewrap sandbox that sees only what it is given. */
  container?: true | { bind?: string[]; image?: string };
  config?: { setupTimeoutMs?: number; eagerInstall?: boolean };
  /** Fields of operator plugins (`runtimeEnvPlugins`). */
  [field: string]: unknown;
}

export interface TaskOptions {
  numCpus?: number;
  numGpus?: number;
  memory?: number;
  resources?: Record<string, number>;
  maxRetries?: number;
  retryExceptions?: boolean | string[];
  numReturns?: number | 'streaming';
  /**
   * Streaming generators (Ray's `_generator_backpressure_num_objects`): the generator pauses
   * once this many items it yielded are not yet taken by the caller's ObjectRefGenerator, and
   * goes on as they are. Unset (the default): no limit.
   */
  generatorBackpressureNumObjects?: number;
  schedulingStrategy?: SchedulingStrategy;
  runtimeEnv?: RuntimeEnvOptions;
  name?: string;
}

const KNOWN = new Set([
  'numCpus',
  'numGpus',
  'memory',
  'resources',
  'maxRetries',
  'retryExceptions',
  'numReturns',
  'generatorBackpressureNumObjects',
  'schedulingStrategy',
  'runtimeEnv',
  'name',
]);

/** Definition-only options of tray.remote(fn, opts) (code shipping). */
export const DEFINITION_KEYS = new Set(['captures', 'module', 'exportName']);

function fail(where: string, message: string): never {
  throw new TypeError(`${where}: ${message}`);
}

function checkQuantity(where: string, key: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(where, `${key} must be a non-negative number, got ${describeValue(value)}`);
  }
}

/** Checks options given by a user; returns them unchanged. */
export function checkTaskOptions(options: unknown, where: string, allowDefinitionKeys = false): TaskOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail(where, `options must be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key) && !(allowDefinitionKeys && DEFINITION_KEYS.has(key))) {
      fail(where, `unknown option ${JSON.stringify(key)} (known: ${[...KNOWN].join(', ')})`);
    }
  }
  for (const key of ['numCpus', 'numGpus', 'memory'] as const) {
    if (o[key] !== undefined) checkQuantity(where, key, o[key]);
  }
  if (o.resources !== undefined) {
    if (o.resources === null || typeof o.resources !== 'object' || Array.isArray(o.resources)) {
      fail(where, `resources must be an object of name → quantity, got ${describeValue(o.resources)}`);
    }
    for (const [name, q] of Object.entries(o.resources as object)) {
      if (name === 'CPU' || name === 'GPU' || name === 'memory') {
        fail(
          where,
          `resources.${name}: use the ${name === 'CPU' ? 'numCpus' : name === 'GPU' ? 'numGpus' : 'memory'} option instead`,
        );
      }
      checkQuantity(where, `resources.${name}`, q);
    }
  }
  if (o.maxRetries !== undefined) {
    const r = o.maxRetries;
    if (typeof r !== 'number' || !Number.isInteger(r) || r < -1) {
      fail(where, `maxRetries must be an integer ≥ -1 (-1 retries forever), got ${describeValue(r)}`);
    }
  }
  if (o.retryExceptions !== undefined) {
    const r = o.retryExceptions;
    const ok =
      typeof r === 'boolean' || (Array.isArray(r) && r.every((x) => typeof x === 'string' && x !== ''));
    if (!ok)
      fail(
        where,
        `retryExceptions must be a boolean or an array of error class names, got ${describeValue(r)}`,
      );
  }
  if (o.numReturns !== undefined) {
    const n = o.numReturns;
    if (n !== 'streaming' && (typeof n !== 'number' || !Number.isInteger(n) || n < 1)) {
      fail(where, `numReturns must be a positive integer or 'streaming', got ${describeValue(n)}`);
    }
  }
  if (o.generatorBackpressureNumObjects !== undefined) {
    const n = o.generatorBackpressureNumObjects;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      fail(where, `generatorBackpressureNumObjects must be a positive integer, got ${describeValue(n)}`);
    }
  }
  if (o.name !== undefined && typeof o.name !== 'string')
    fail(where, `name must be a string, got ${describeValue(o.name)}`);
  if (o.schedulingStrategy !== undefined) checkStrategy(where, o.schedulingStrategy);
  if (o.runtimeEnv !== undefined) checkRuntimeEnv(where, o.runtimeEnv);
  return o as TaskOptions;
}

function checkStrategy(where: string, s: unknown): void {
  if (s === 'DEFAULT' || s === 'SPREAD') return;
  if (s !== null && typeof s === 'object') {
    const o = s as Record<string, unknown>;
    if (typeof o.nodeId === 'string' && /^[0-9a-f]{56}$/.test(o.nodeId)) return;
    if ('placementGroup' in o) {
      const problem = placementGroupStrategyProblem(o);
      if (problem !== undefined) fail(where, problem);
      return;
    }
  }
  fail(
    where,
    `schedulingStrategy must be 'DEFAULT', 'SPREAD', { nodeId: <56 hex chars>, soft } or { placementGroup, bundleIndex }, got ${describeValue(s)}`,
  );
}

function checkRuntimeEnv(where: string, env: unknown): void {
  if (env === null || typeof env !== 'object' || Array.isArray(env)) {
    fail(where, `runtimeEnv must be an object, got ${describeValue(env)}`);
  }
  // Fields of built-in plugins are checked now; an operator's plugin fields when the env is
  // first used (runtime/runtime-env.ts), as tray.init loads those plugins.
  for (const [field, value] of Object.entries(env as Record<string, unknown>)) {
    const plugin = runtimeEnvPlugins.get(field);
    if (plugin === undefined || value === undefined) continue;
    try {
      plugin.validate(value);
    } catch (err) {
      fail(where, (err as Error).message);
    }
  }
}

/** Options with defaults applied, ready for a task spec. */
export interface ResolvedTaskOptions {
  resources: Record<string, number>;
  maxRetries: number;
  retryExceptions: boolean;
  retryExceptionAllowlist: string[];
  numReturns: number | 'streaming';
  generatorBackpressureNumObjects: number | undefined;
  /** As given: checked, prepared and merged by runtime/runtime-env.ts. */
  runtimeEnv: RuntimeEnvOptions | undefined;
  schedulingStrategy: tray.v1.ISchedulingStrategy | undefined;
  name: string | undefined;
}

export function resolveTaskOptions(o: TaskOptions): ResolvedTaskOptions {
  const resources: Record<string, number> = {};
  const cpus = o.numCpus ?? 1;
  if (cpus > 0) resources.CPU = cpus;
  if (o.numGpus) resources.GPU = o.numGpus;
  if (o.memory) resources.memory = o.memory;
  for (const [k, v] of Object.entries(o.resources ?? {})) if (v > 0) resources[k] = v;
  if (o.generatorBackpressureNumObjects !== undefined && o.numReturns !== 'streaming') {
    throw new TypeError(
      `${o.name ?? 'remote function'}: generatorBackpressureNumObjects applies to generators; set numReturns: 'streaming' too`,
    );
  }
  const retry = o.retryExceptions ?? false;
  const runtimeEnv = o.runtimeEnv;
  let schedulingStrategy: tray.v1.ISchedulingStrategy | undefined;
  const s = o.schedulingStrategy;
  if (s === 'SPREAD') schedulingStrategy = { spread: true };
  else if (s !== undefined && s !== 'DEFAULT' && 'nodeId' in s) {
    schedulingStrategy = { nodeAffinity: { nodeId: Buffer.from(s.nodeId, 'hex'), soft: s.soft } };
  } else if (s !== undefined && s !== 'DEFAULT' && 'placementGroup' in s) {
    schedulingStrategy = placementGroupStrategy(s.placementGroup, s.bundleIndex);
  }
  return {
    resources,
    maxRetries: o.maxRetries ?? 3,
    retryExceptions: retry === true,
    retryExceptionAllowlist: Array.isArray(retry) ? retry : [],
    numReturns: o.numReturns ?? 1,
    generatorBackpressureNumObjects: o.generatorBackpressureNumObjects,
    runtimeEnv,
    schedulingStrategy,
    name: o.name,
  };
}
