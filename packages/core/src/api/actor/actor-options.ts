// Actor options of API.md (`tray.remote(Class, opts)` and `ActorClass.options(opts)`): their
// types, checks that say what was expected and how to fix it, and Ray's defaults — 1 CPU to
// schedule and 0 while running, maxRestarts 0, maxTaskRetries 0, maxConcurrency 1, unlimited
// pending calls. Resource, strategy and runtime-env options are checked as task options are.
import type { tray } from '@tray/protocol';
import { describeValue } from '../describe-value.js';
import {
  checkTaskOptions,
  type RuntimeEnvOptions,
  resolveTaskOptions,
  type SchedulingStrategy,
} from '../task-options.js';

/**
 * A concurrency group: a limit on how many calls of its methods run at once. `{ io: 2 }` is a
 * group its methods join per call (`handle.m.options({ concurrencyGroup: 'io' })`); the long
 * form also assigns methods to it for every call.
 */
export type ConcurrencyGroupOption = number | { maxConcurrency: number; methods?: string[] };

export interface ActorOptions {
  /** Name the actor (per namespace) so other drivers find it with tray.getActor. */
  name?: string;
  namespace?: string;
  /** 'detached': the actor outlives its creator until tray.kill. */
  lifetime?: 'detached' | 'non_detached';
  /** With a name: if an actor of that name exists, the handle is that actor. */
  getIfExists?: boolean;
  /** Restarts after its process dies (-1: forever). Default 0. */
  maxRestarts?: number;
  /** Resends of a call whose actor died while it ran (-1: forever). Default 0. */
  maxTaskRetries?: number;
  /** Calls (async methods) running at once. Default 1. */
  maxConcurrency?: number;
  /** Calls queued per caller before `.remote()` throws PendingCallsLimitExceededError (-1: no limit). */
  maxPendingCalls?: number;
  concurrencyGroups?: Record<string, ConcurrencyGroupOption>;
  /** CPUs held while it runs (default: 1 to schedule, 0 while running). */
  numCpus?: number;
  numGpus?: number;
  memory?: number;
  resources?: Record<string, number>;
  schedulingStrategy?: SchedulingStrategy;
  runtimeEnv?: RuntimeEnvOptions;
}

const ACTOR_KEYS = [
  'name',
  'namespace',
  'lifetime',
  'getIfExists',
  'maxRestarts',
  'maxTaskRetries',
  'maxConcurrency',
  'maxPendingCalls',
  'concurrencyGroups',
];
const RESOURCE_KEYS = ['numCpus', 'numGpus', 'memory', 'resources', 'schedulingStrategy', 'runtimeEnv'];
/** Definition-only keys of tray.remote(Class, opts) (code shipping). */
export const CLASS_DEFINITION_KEYS = new Set(['captures', 'module', 'exportName']);

function fail(where: string, message: string): never {
  throw new TypeError(`${where}: ${message}`);
}

function checkCount(where: string, key: string, value: unknown, min: number, hint: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(where, `${key} must be an integer ≥ ${min}${hint}, got ${describeValue(value)}`);
  }
}

/** Checks actor options given by a user; returns them unchanged. */
export function checkActorOptions(
  options: unknown,
  where: string,
  allowDefinitionKeys = false,
): ActorOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail(where, `options must be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  const resourceOptions: Record<string, unknown> = {};
  for (const key of Object.keys(o)) {
    if (RESOURCE_KEYS.includes(key)) resourceOptions[key] = o[key];
    else if (!ACTOR_KEYS.includes(key) && !(allowDefinitionKeys && CLASS_DEFINITION_KEYS.has(key))) {
      fail(
        where,
        `unknown actor option ${JSON.stringify(key)} (known: ${[...ACTOR_KEYS, ...RESOURCE_KEYS].join(', ')})`,
      );
    }
  }
  checkTaskOptions(resourceOptions, where);
  for (const key of ['name', 'namespace'] as const) {
    if (
      o[key] !== undefined &&
      (typeof o[key] !== 'string' || o[key] === '' || (o[key] as string).length > 512)
    ) {
      fail(where, `${key} must be a non-empty string (at most 512 characters), got ${describeValue(o[key])}`);
    }
  }
  if (o.lifetime !== undefined && o.lifetime !== 'detached' && o.lifetime !== 'non_detached') {
    fail(where, `lifetime must be 'detached' or 'non_detached', got ${describeValue(o.lifetime)}`);
  }
  if (o.getIfExists !== undefined && typeof o.getIfExists !== 'boolean') {
    fail(where, `getIfExists must be a boolean, got ${describeValue(o.getIfExists)}`);
  }
  if (o.getIfExists === true && o.name === undefined) {
    fail(where, 'getIfExists needs a name: it returns the existing actor of that name');
  }
  checkCount(where, 'maxRestarts', o.maxRestarts, -1, ' (-1 restarts forever)');
  checkCount(where, 'maxTaskRetries', o.maxTaskRetries, -1, ' (-1 retries forever)');
  checkCount(where, 'maxConcurrency', o.maxConcurrency, 1, '');
  checkCount(where, 'maxPendingCalls', o.maxPendingCalls, -1, ' (-1: no limit)');
  if (o.maxPendingCalls === 0) fail(where, 'maxPendingCalls must be -1 (no limit) or at least 1, got 0');
  if (o.concurrencyGroups !== undefined) checkGroups(where, o.concurrencyGroups);
  return o as ActorOptions;
}

function checkGroups(where: string, groups: unknown): void {
  if (groups === null || typeof groups !== 'object' || Array.isArray(groups)) {
    fail(where, `concurrencyGroups must be an object of group name → limit, got ${describeValue(groups)}`);
  }
  const owner = new Map<string, string>();
  for (const [name, g] of Object.entries(groups as object)) {
    if (name === 'default')
      fail(where, "concurrencyGroups: 'default' is the group of maxConcurrency; pick another name");
    const limit = typeof g === 'number' ? g : (g as { maxConcurrency?: unknown } | null)?.maxConcurrency;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
      fail(
        where,
        `concurrencyGroups.${name} must be a limit ≥ 1 or { maxConcurrency, methods }, got ${describeValue(g)}`,
      );
    }
    const methods = typeof g === 'number' ? [] : ((g as { methods?: unknown }).methods ?? []);
    if (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string' && m !== '')) {
      fail(
        where,
        `concurrencyGroups.${name}.methods must be an array of method names, got ${describeValue(methods)}`,
      );
    }
    for (const m of methods as string[]) {
      const other = owner.get(m);
      if (other !== undefined) fail(where, `method ${m} is in two concurrency groups (${other} and ${name})`);
      owner.set(m, name);
    }
  }
}

/** What the creation task spec takes from the options. */
export interface ResolvedActorOptions {
  required: Record<string, number>;
  /** Absent: schedule with Ray's default (1 CPU). */
  placement: Record<string, number> | undefined;
  runtimeEnv: RuntimeEnvOptions | undefined;
  schedulingStrategy: tray.v1.ISchedulingStrategy | undefined;
  creation: Omit<tray.v1.IActorCreationSpec, 'actorId' | 'namespace' | 'placementResources'>;
}

export function resolveActorOptions(o: ActorOptions): ResolvedActorOptions {
  const task = resolveTaskOptions({
    numCpus: o.numCpus ?? 0,
    numGpus: o.numGpus,
    memory: o.memory,
    resources: o.resources,
    schedulingStrategy: o.schedulingStrategy,
    runtimeEnv: o.runtimeEnv,
  });
  const groups: tray.v1.IConcurrencyGroup[] = Object.entries(o.concurrencyGroups ?? {}).map(([name, g]) =>
    typeof g === 'number'
      ? { name, maxConcurrency: g, methods: [] }
      : { name, maxConcurrency: g.maxConcurrency, methods: g.methods ?? [] },
  );
  return {
    required: task.resources,
    placement: o.numCpus === undefined ? undefined : task.resources,
    runtimeEnv: task.runtimeEnv,
    schedulingStrategy: task.schedulingStrategy,
    creation: {
      maxRestarts: o.maxRestarts ?? 0,
      maxTaskRetries: o.maxTaskRetries ?? 0,
      maxConcurrency: o.maxConcurrency ?? 1,
      maxPendingCalls: o.maxPendingCalls ?? -1,
      name: o.name ?? '',
      detached: o.lifetime === 'detached',
      concurrencyGroups: groups,
    },
  };
}
