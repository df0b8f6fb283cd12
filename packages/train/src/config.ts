// The trainer's options (ScalingConfig, RunConfig, FailureConfig, CheckpointConfig as Ray Train
// names them) and their check: a DataParallelTrainer with a bad option fails in its constructor,
// saying which option was wrong and what it takes, before anything is started.
import os from 'node:os';
import path from 'node:path';
import type { Dataset } from '@tray/data';
import type { Checkpoint } from './checkpoint.js';

export type PlacementStrategy = 'PACK' | 'SPREAD' | 'STRICT_PACK' | 'STRICT_SPREAD';

export interface ScalingConfig {
  /** Training workers, one actor each (default 1). */
  numWorkers?: number;
  /** One GPU per worker unless resourcesPerWorker says otherwise (default false). */
  useGpu?: boolean;
  /** Resources each worker reserves (default { CPU: 1 }, plus { GPU: 1 } with useGpu). */
  resourcesPerWorker?: Record<string, number>;
  /** How the workers' bundles are placed (default 'PACK'). */
  placementStrategy?: PlacementStrategy;
}

export interface FailureConfig {
  /** Group restarts after a worker failure: 0 (default) none, -1 without limit. */
  maxFailures?: number;
}

export interface CheckpointConfig {
  /** Checkpoints kept in storage (default all); the best by the score attribute when given, else the latest. */
  numToKeep?: number;
  /** A metric of the report that came with a checkpoint, to rank checkpoints by. */
  checkpointScoreAttribute?: string;
  /** 'max' (default) keeps the highest scores, 'min' the lowest. */
  checkpointScoreOrder?: 'max' | 'min';
}

export interface RunConfig {
  /** The run's directory name under storagePath (default `DataParallelTrainer_<date>`). */
  name?: string;
  /** Where runs keep checkpoints and state (default ~/tray_results); shared by all nodes. */
  storagePath?: string;
  failureConfig?: FailureConfig;
  checkpointConfig?: CheckpointConfig;
  /** Print a line per reported iteration (default true). */
  verbose?: boolean;
}

export interface TrainerOptions<C> {
  trainLoopConfig?: C;
  scalingConfig?: ScalingConfig;
  runConfig?: RunConfig;
  /** `train` is split across the workers; every other dataset is given whole to each worker. */
  datasets?: Record<string, Dataset<any>>;
  /** A checkpoint the first attempt starts from (getCheckpoint() in the loop). */
  resumeFromCheckpoint?: Checkpoint;
}

/** The options with every default filled in. */
export interface ResolvedOptions {
  trainLoopConfig: unknown;
  numWorkers: number;
  resourcesPerWorker: Record<string, number>;
  placementStrategy: PlacementStrategy;
  name: string;
  storagePath: string;
  maxFailures: number;
  numToKeep: number | undefined;
  scoreAttribute: string | undefined;
  scoreOrder: 'max' | 'min';
  verbose: boolean;
  datasets: Record<string, Dataset<any>>;
  resumeFromCheckpoint: string | undefined;
}

const STRATEGIES: PlacementStrategy[] = ['PACK', 'SPREAD', 'STRICT_PACK', 'STRICT_SPREAD'];

function fail(what: string): never {
  throw new TypeError(`DataParallelTrainer: ${what}`);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function objectOrUndefined(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail(`${name} must be an object; got ${show(value)}`);
  return value as Record<string, unknown>;
}

function onlyKeys(value: Record<string, unknown>, keys: string[], name: string): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) fail(`${name} has no option '${key}' (its options: ${keys.join(', ')})`);
  }
}

export function defaultRunName(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  return `DataParallelTrainer_${stamp}`;
}

export function resolveOptions(options: unknown): ResolvedOptions {
  const o = objectOrUndefined(options, 'the options (second argument)');
  onlyKeys(
    o,
    ['trainLoopConfig', 'scalingConfig', 'runConfig', 'datasets', 'resumeFromCheckpoint'],
    'the options',
  );
  const scaling = objectOrUndefined(o.scalingConfig, 'scalingConfig');
  onlyKeys(scaling, ['numWorkers', 'useGpu', 'resourcesPerWorker', 'placementStrategy'], 'scalingConfig');
  const numWorkers = scaling.numWorkers ?? 1;
  if (!Number.isInteger(numWorkers) || (numWorkers as number) < 1)
    fail(`scalingConfig.numWorkers must be an integer >= 1; got ${show(numWorkers)}`);
  const useGpu = scaling.useGpu ?? false;
  if (typeof useGpu !== 'boolean') fail(`scalingConfig.useGpu must be true or false; got ${show(useGpu)}`);
  const resources = checkResources(scaling.resourcesPerWorker, useGpu);
  const placementStrategy = scaling.placementStrategy ?? 'PACK';
  if (!STRATEGIES.includes(placementStrategy as PlacementStrategy))
    fail(
      `scalingConfig.placementStrategy must be one of ${STRATEGIES.join(', ')}; got ${show(placementStrategy)}`,
    );

  const run = objectOrUndefined(o.runConfig, 'runConfig');
  onlyKeys(run, ['name', 'storagePath', 'failureConfig', 'checkpointConfig', 'verbose'], 'runConfig');
  const name = run.name ?? defaultRunName();
  if (
    typeof name !== 'string' ||
    name === '' ||
    name.includes('/') ||
    name.includes('\\') ||
    name.startsWith('.')
  )
    fail(`runConfig.name must be a directory name (no slashes, not starting with '.'); got ${show(name)}`);
  const storage = run.storagePath ?? path.join(os.homedir(), 'tray_results');
  if (typeof storage !== 'string' || storage === '')
    fail(`runConfig.storagePath must be a directory path; got ${show(storage)}`);
  const verbose = run.verbose ?? true;
  if (typeof verbose !== 'boolean') fail(`runConfig.verbose must be true or false; got ${show(verbose)}`);

  const failure = objectOrUndefined(run.failureConfig, 'runConfig.failureConfig');
  onlyKeys(failure, ['maxFailures'], 'runConfig.failureConfig');
  const maxFailures = failure.maxFailures ?? 0;
  if (!Number.isInteger(maxFailures) || (maxFailures as number) < -1)
    fail(
      `runConfig.failureConfig.maxFailures must be an integer >= 0, or -1 for no limit; got ${show(maxFailures)}`,
    );

  const ckpt = objectOrUndefined(run.checkpointConfig, 'runConfig.checkpointConfig');
  onlyKeys(
    ckpt,
    ['numToKeep', 'checkpointScoreAttribute', 'checkpointScoreOrder'],
    'runConfig.checkpointConfig',
  );
  const numToKeep = ckpt.numToKeep;
  if (numToKeep !== undefined && (!Number.isInteger(numToKeep) || (numToKeep as number) < 1))
    fail(
      `runConfig.checkpointConfig.numToKeep must be an integer >= 1 (leave it out to keep all); got ${show(numToKeep)}`,
    );
  const scoreAttribute = ckpt.checkpointScoreAttribute;
  if (scoreAttribute !== undefined && (typeof scoreAttribute !== 'string' || scoreAttribute === ''))
    fail(
      `runConfig.checkpointConfig.checkpointScoreAttribute must be a metric name; got ${show(scoreAttribute)}`,
    );
  const scoreOrder = ckpt.checkpointScoreOrder ?? 'max';
  if (scoreOrder !== 'max' && scoreOrder !== 'min')
    fail(`runConfig.checkpointConfig.checkpointScoreOrder must be 'max' or 'min'; got ${show(scoreOrder)}`);

  const datasets = objectOrUndefined(o.datasets, 'datasets');
  for (const [key, ds] of Object.entries(datasets)) {
    if (ds === null || typeof (ds as { streamingSplit?: unknown }).streamingSplit !== 'function')
      fail(`datasets.${key} must be a @tray/data Dataset; got ${show(ds)}`);
  }
  let resume: string | undefined;
  if (o.resumeFromCheckpoint !== undefined) {
    const p = (o.resumeFromCheckpoint as { path?: unknown } | null)?.path;
    if (typeof p !== 'string')
      fail(
        `resumeFromCheckpoint must be a Checkpoint (train.Checkpoint.fromDirectory(dir)); got ${show(o.resumeFromCheckpoint)}`,
      );
    resume = p;
  }
  return {
    trainLoopConfig: o.trainLoopConfig ?? {},
    numWorkers: numWorkers as number,
    resourcesPerWorker: resources,
    placementStrategy: placementStrategy as PlacementStrategy,
    name,
    storagePath: path.resolve(storage),
    maxFailures: maxFailures as number,
    numToKeep: numToKeep as number | undefined,
    scoreAttribute: scoreAttribute as string | undefined,
    scoreOrder,
    verbose,
    datasets: datasets as Record<string, Dataset<any>>,
    resumeFromCheckpoint: resume,
  };
}

function checkResources(value: unknown, useGpu: boolean): Record<string, number> {
  if (value === undefined) return useGpu ? { CPU: 1, GPU: 1 } : { CPU: 1 };
  const r = objectOrUndefined(value, 'scalingConfig.resourcesPerWorker');
  for (const [key, amount] of Object.entries(r)) {
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0)
      fail(`scalingConfig.resourcesPerWorker.${key} must be a number >= 0; got ${show(amount)}`);
  }
  const out = { ...(r as Record<string, number>) };
  if (useGpu && out.GPU === undefined) out.GPU = 1;
  if (!useGpu && (out.GPU ?? 0) > 0)
    fail('scalingConfig.resourcesPerWorker asks for GPU but useGpu is false; set useGpu: true');
  return out;
}
