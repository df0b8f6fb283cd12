// The Tuner's options (LIBRARIES.md's Tune section; Ray's TuneConfig, RunConfig, CheckpointConfig,
// FailureConfig) with Ray's defaults, and their checks: each bad value fails at new Tuner() with
// what was wrong and how to fix it.
import { homedir } from 'node:os';
import path from 'node:path';
import type { TrialScheduler } from '../schedulers/trial-scheduler.js';
import type { Searcher } from '../search/searcher.js';
import type { Mode, TrialResult } from '../types.js';

export interface TuneConfig {
  /** The metric to optimise (a key of the reported results); with mode. */
  metric?: string;
  mode?: Mode;
  /** Trials to run (a grid is repeated this many times, as Ray's); -1: until timeBudgetMs. Default 1. */
  numSamples?: number;
  /** At most this many trials at once (default: as many as the cluster's resources allow). */
  maxConcurrentTrials?: number;
  scheduler?: TrialScheduler;
  searchAlg?: Searcher;
  /** Stop the experiment after this long (running trials are stopped, none start). */
  timeBudgetMs?: number;
  /** Give a finished trial's actor to the next trial with the same resources. Default false. */
  reuseActors?: boolean;
  /** Seed of the default search algorithm's draws. */
  seed?: number;
}

export interface CheckpointConfig {
  /** Checkpoints kept per trial (the latest is always kept); default all. */
  numToKeep?: number;
  /** Keep the best by this result key instead of the newest. */
  checkpointScoreAttribute?: string;
  /** Whether a higher score is better (default 'max', as Ray's). */
  checkpointScoreOrder?: Mode;
  /** Class trainables: save every N steps (default 0: only on PAUSE/exploit). */
  checkpointFrequency?: number;
  /** Class trainables: save after the last step. Default false. */
  checkpointAtEnd?: boolean;
}

export interface FailureConfig {
  /** Restarts of a failed trial from its last checkpoint (-1: forever). Default 0. */
  maxFailures?: number;
}

/** Stop a trial when any result key reaches its threshold, or when the function says so. */
export type StopCondition = Record<string, number> | ((trialId: string, result: TrialResult) => boolean);

export interface RunConfig {
  /** The experiment's directory name under storagePath (default: trainable name and a timestamp). */
  name?: string;
  /** Default ~/tray_results. */
  storagePath?: string;
  stop?: StopCondition;
  checkpointConfig?: CheckpointConfig;
  failureConfig?: FailureConfig;
  /** 0 silent, 1 status (default), 2 also every result. */
  verbose?: 0 | 1 | 2;
}

export interface TunerOptions {
  paramSpace?: Record<string, unknown>;
  tuneConfig?: TuneConfig;
  runConfig?: RunConfig;
}

/** The options with defaults applied. */
export interface ResolvedOptions {
  paramSpace: Record<string, unknown>;
  metric?: string;
  mode?: Mode;
  numSamples: number;
  maxConcurrentTrials: number;
  timeBudgetMs: number;
  reuseActors: boolean;
  seed?: number;
  name: string;
  storagePath: string;
  stop?: StopCondition;
  numToKeep: number;
  checkpointScoreAttribute?: string;
  checkpointScoreOrder: Mode;
  checkpointFrequency: number;
  checkpointAtEnd: boolean;
  maxFailures: number;
  verbose: 0 | 1 | 2;
}

const TUNE_KEYS = [
  'metric',
  'mode',
  'numSamples',
  'maxConcurrentTrials',
  'scheduler',
  'searchAlg',
  'timeBudgetMs',
  'reuseActors',
  'seed',
];
const RUN_KEYS = ['name', 'storagePath', 'stop', 'checkpointConfig', 'failureConfig', 'verbose'];
const CHECKPOINT_KEYS = [
  'numToKeep',
  'checkpointScoreAttribute',
  'checkpointScoreOrder',
  'checkpointFrequency',
  'checkpointAtEnd',
];

function plainObject(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${where} must be an object, got ${value === null ? 'null' : typeof value}.`);
  }
  return value as Record<string, unknown>;
}

function knownKeys(obj: Record<string, unknown>, keys: string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!keys.includes(key)) {
      throw new TypeError(
        `${where}: unknown option ${JSON.stringify(key)}; the options are ${keys.join(', ')}.`,
      );
    }
  }
}

function integer(value: unknown, where: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`${where} must be an integer >= ${min}, got ${String(value)}.`);
  }
  return value;
}

export function checkMode(mode: unknown, where: string): Mode | undefined {
  if (mode === undefined) return undefined;
  if (mode !== 'min' && mode !== 'max') {
    throw new TypeError(`${where}: mode must be 'min' or 'max', got ${JSON.stringify(mode)}.`);
  }
  return mode;
}

export function resolveOptions(options: TunerOptions | undefined, trainableName: string): ResolvedOptions {
  const top = plainObject(options, 'new Tuner(trainable, options): options');
  knownKeys(top, ['paramSpace', 'tuneConfig', 'runConfig'], 'new Tuner(trainable, options)');
  const paramSpace = plainObject(top.paramSpace, 'paramSpace');
  const tc = plainObject(top.tuneConfig, 'tuneConfig');
  knownKeys(tc, TUNE_KEYS, 'tuneConfig');
  const rc = plainObject(top.runConfig, 'runConfig');
  knownKeys(rc, RUN_KEYS, 'runConfig');
  const cc = plainObject(rc.checkpointConfig, 'runConfig.checkpointConfig');
  knownKeys(cc, CHECKPOINT_KEYS, 'runConfig.checkpointConfig');
  const fc = plainObject(rc.failureConfig, 'runConfig.failureConfig');
  knownKeys(fc, ['maxFailures'], 'runConfig.failureConfig');

  if (tc.metric !== undefined && (typeof tc.metric !== 'string' || tc.metric === '')) {
    throw new TypeError(
      `tuneConfig.metric must be a non-empty string (a key of the reported results), got ${String(tc.metric)}.`,
    );
  }
  const mode = checkMode(tc.mode, 'tuneConfig');
  if ((tc.metric === undefined) !== (mode === undefined)) {
    throw new TypeError(
      'tuneConfig: metric and mode go together: give both (e.g. { metric: "loss", mode: "min" }) or neither.',
    );
  }
  const numSamples = tc.numSamples === -1 ? -1 : integer(tc.numSamples, 'tuneConfig.numSamples', 1, 1);
  const timeBudgetMs = tc.timeBudgetMs === undefined ? 0 : Number(tc.timeBudgetMs);
  if (!(timeBudgetMs >= 0) || !Number.isFinite(timeBudgetMs)) {
    throw new TypeError(
      `tuneConfig.timeBudgetMs must be a number of milliseconds > 0, got ${String(tc.timeBudgetMs)}.`,
    );
  }
  if (numSamples === -1 && timeBudgetMs === 0) {
    throw new TypeError('tuneConfig.numSamples -1 (run until stopped) needs tuneConfig.timeBudgetMs.');
  }
  const name = rc.name ?? `${trainableName}_${new Date().toISOString().replace(/[:.]/g, '-')}`;
  if (typeof name !== 'string' || name === '' || name.includes('/') || name === '.' || name === '..') {
    throw new TypeError(`runConfig.name must be a directory name (no '/'), got ${JSON.stringify(rc.name)}.`);
  }
  if (rc.storagePath !== undefined && (typeof rc.storagePath !== 'string' || rc.storagePath === '')) {
    throw new TypeError(`runConfig.storagePath must be a directory path, got ${String(rc.storagePath)}.`);
  }
  const stop = rc.stop as StopCondition | undefined;
  if (stop !== undefined && typeof stop !== 'function') {
    for (const [k, v] of Object.entries(plainObject(stop, 'runConfig.stop'))) {
      if (typeof v !== 'number') {
        throw new TypeError(
          `runConfig.stop.${k} must be a number (stop when the result's ${k} reaches it), got ${String(v)}.`,
        );
      }
    }
  }
  const verbose = rc.verbose ?? 1;
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) {
    throw new TypeError(`runConfig.verbose must be 0, 1 or 2, got ${String(rc.verbose)}.`);
  }
  if (tc.seed !== undefined && (typeof tc.seed !== 'number' || !Number.isFinite(tc.seed))) {
    throw new TypeError(`tuneConfig.seed must be a number, got ${String(tc.seed)}.`);
  }
  const maxFailures =
    fc.maxFailures === -1 ? -1 : integer(fc.maxFailures, 'runConfig.failureConfig.maxFailures', 0, 0);
  return {
    paramSpace,
    metric: tc.metric as string | undefined,
    mode,
    numSamples,
    maxConcurrentTrials: integer(tc.maxConcurrentTrials, 'tuneConfig.maxConcurrentTrials', 1, 0),
    timeBudgetMs,
    reuseActors: tc.reuseActors === true,
    seed: tc.seed as number | undefined,
    name,
    storagePath: path.resolve(
      (rc.storagePath as string | undefined)?.replace(/^~(?=$|\/)/, homedir()) ??
        path.join(homedir(), 'tray_results'),
    ),
    stop,
    numToKeep: integer(cc.numToKeep, 'runConfig.checkpointConfig.numToKeep', 1, 0),
    checkpointScoreAttribute: cc.checkpointScoreAttribute as string | undefined,
    checkpointScoreOrder:
      checkMode(cc.checkpointScoreOrder, 'runConfig.checkpointConfig.checkpointScoreOrder') ?? 'max',
    checkpointFrequency: integer(
      cc.checkpointFrequency,
      'runConfig.checkpointConfig.checkpointFrequency',
      0,
      0,
    ),
    checkpointAtEnd: cc.checkpointAtEnd === true,
    maxFailures,
    verbose,
  };
}
