// A runtime env as a value: checked field by field by its plugins, prepared on the driver
// (local paths → uploaded URIs), merged as Ray merges them (a task's or actor's fields over the
// job's, envVars and config key by key), and serialized canonically: its JSON is what travels
// in TaskSpec.runtime_env.serialized, and its hash keys the raylet's worker pool.
import { createHash } from 'node:crypto';
import { DEFAULT_MAX_PACKAGE_BYTES } from './package-archive.js';
import type { PluginDriverContext } from './plugin.js';
import { type PluginRegistry, RESERVED_FIELDS } from './registry.js';

export type RuntimeEnvValue = Record<string, unknown>;

export interface RuntimeEnvConfig {
  /** Give up setting the env up on a node after this long (Ray's default: 600 s). */
  setupTimeoutMs: number;
  /** Set the job's env up on every node when the job starts (Ray's default: true). */
  eagerInstall: boolean;
}

export const DEFAULT_SETUP_TIMEOUT_MS = 600_000;
/** The largest serialized runtime env a raylet accepts. */
export const MAX_SERIALIZED_BYTES = 1 << 20;

export function configOf(env: RuntimeEnvValue): RuntimeEnvConfig {
  const c = (env.config ?? {}) as Partial<RuntimeEnvConfig>;
  return {
    setupTimeoutMs: c.setupTimeoutMs ?? DEFAULT_SETUP_TIMEOUT_MS,
    eagerInstall: c.eagerInstall ?? true,
  };
}

function checkConfig(value: unknown): Partial<RuntimeEnvConfig> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new TypeError('runtimeEnv.config must be an object { setupTimeoutMs?, eagerInstall? }');
  const c = value as Record<string, unknown>;
  for (const k of Object.keys(c))
    if (k !== 'setupTimeoutMs' && k !== 'eagerInstall')
      throw new TypeError(`runtimeEnv.config: unknown field ${k} (known: setupTimeoutMs, eagerInstall)`);
  if (c.setupTimeoutMs !== undefined && !(typeof c.setupTimeoutMs === 'number' && c.setupTimeoutMs > 0))
    throw new TypeError(
      `runtimeEnv.config.setupTimeoutMs must be a number of milliseconds > 0, got ${c.setupTimeoutMs}`,
    );
  if (c.eagerInstall !== undefined && typeof c.eagerInstall !== 'boolean')
    throw new TypeError('runtimeEnv.config.eagerInstall must be a boolean');
  return c as Partial<RuntimeEnvConfig>;
}

/** Every field checked by its plugin; unknown fields name the known ones. */
export function validateRuntimeEnv(env: unknown, registry: PluginRegistry): RuntimeEnvValue {
  if (env === null || typeof env !== 'object' || Array.isArray(env))
    throw new TypeError(`runtimeEnv must be an object, got ${env === null ? 'null' : typeof env}`);
  const out: RuntimeEnvValue = {};
  for (const [field, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (field === 'config') out.config = checkConfig(value);
    else if (field === 'excludes') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
        throw new TypeError('runtimeEnv.excludes must be an array of gitignore-like patterns');
      out.excludes = value;
    } else {
      const plugin = registry.get(field);
      if (plugin === undefined)
        throw new TypeError(
          `runtimeEnv: unknown field ${JSON.stringify(field)} (known: ${[...registry.names, ...RESERVED_FIELDS].join(', ')}; an operator adds fields with runtime-env plugins)`,
        );
      out[field] = plugin.validate(value);
    }
  }
  return out;
}

/** On the driver: each plugin's prepare (uploads); `excludes` is used up here. */
export function prepareRuntimeEnv(
  env: RuntimeEnvValue,
  registry: PluginRegistry,
  ctx: Omit<PluginDriverContext, 'excludes' | 'maxPackageBytes'> & { maxPackageBytes?: number },
): RuntimeEnvValue {
  const driverCtx: PluginDriverContext = {
    ...ctx,
    excludes: (env.excludes as string[] | undefined) ?? [],
    maxPackageBytes: ctx.maxPackageBytes ?? DEFAULT_MAX_PACKAGE_BYTES,
  };
  const out: RuntimeEnvValue = {};
  for (const [field, value] of Object.entries(env)) {
    if (field === 'excludes') continue;
    const plugin = registry.get(field);
    out[field] = plugin?.prepare ? plugin.prepare(value, driverCtx) : value;
  }
  return out;
}

/** `child` over `parent`: fields replaced, envVars and config merged key by key. */
export function mergeRuntimeEnvs(
  parent: RuntimeEnvValue | undefined,
  child: RuntimeEnvValue | undefined,
): RuntimeEnvValue | undefined {
  if (parent === undefined) return child;
  if (child === undefined) return parent;
  const out: RuntimeEnvValue = { ...parent, ...child };
  for (const k of ['envVars', 'config']) {
    if (parent[k] !== undefined && child[k] !== undefined)
      out[k] = { ...(parent[k] as object), ...(child[k] as object) };
  }
  return out;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** The canonical JSON ("" for the empty env: the default env's workers). */
export function serializeRuntimeEnv(env: RuntimeEnvValue | undefined): string {
  if (env === undefined || Object.keys(env).length === 0) return '';
  return JSON.stringify(sortKeys(env));
}

/** The worker-pool key of a serialized env ("" for the default env). */
export function runtimeEnvHash(serialized: string): string {
  return serialized === '' ? '' : createHash('sha256').update(serialized).digest('hex').slice(0, 16);
}

/** Parse and check a serialized env received from the network. */
export function parseRuntimeEnv(serialized: string, registry: PluginRegistry): RuntimeEnvValue {
  if (serialized.length > MAX_SERIALIZED_BYTES)
    throw new TypeError(
      `runtime_env.serialized is ${serialized.length} bytes, over the ${MAX_SERIALIZED_BYTES} limit`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(serialized);
  } catch {
    throw new TypeError('runtime_env.serialized is not JSON');
  }
  return validateRuntimeEnv(parsed, registry);
}
