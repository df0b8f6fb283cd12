// Tuner: the entry point (Ray's tune.Tuner). new Tuner(trainable, options) checks everything it
// can before any trial runs (options, the trainable's shipping); fit() runs the experiment on the
// cluster (starting a local one if none is initialised) and returns a ResultGrid;
// Tuner.restore(path, trainable) continues an experiment a killed driver left in storagePath/name.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as tray from '@tray/core';
import { Checkpoint } from '../checkpoint.js';
import { Reporter } from '../output/reporter.js';
import { type Result, ResultGrid } from '../result-grid.js';
import type { TrialScheduler } from '../schedulers/trial-scheduler.js';
import type { Searcher } from '../search/searcher.js';
import { type ExperimentState, hasState, readState, STATE_VERSION } from '../storage/experiment-state.js';
import { decodeSpace, encodeSpace } from '../storage/param-space.js';
import { readResults, truncateResults } from '../storage/trial-files.js';
import {
  type DescribedTrainable,
  describeTrainable,
  INJECTED_NAMES,
  shipTrainable,
  type TrainableInput,
} from '../trainable/define.js';
import { type ResolvedOptions, resolveOptions, type StopCondition, type TunerOptions } from './config.js';
import { TuneController } from './controller.js';
import { countsOwnTrials, defaultScheduler, defaultSearcher } from './defaults.js';
import { restorePoint } from './trial.js';

/** A trial that ended in ERROR: its id and what its trainable threw (with the remote stack). */
export class TrialError extends Error {
  /** Where the trainable threw, in the trial's process. */
  readonly remoteStack: string;

  constructor(
    readonly trialId: string,
    message: string,
  ) {
    const [first = '', ...rest] = message.split('\n');
    super(`trial ${trialId} failed: ${first}`);
    this.name = 'TrialError';
    this.remoteStack = rest.join('\n');
  }
}

export interface RestoreOptions {
  /** Continue trials that were PENDING, RUNNING or PAUSED (default true). */
  resumeUnfinished?: boolean;
  /** Continue ERROR trials from their last checkpoint (default false). */
  resumeErrored?: boolean;
  /** Run ERROR trials again from the start (default false). */
  restartErrored?: boolean;
  /** The objects the state file cannot hold: give the same kinds as the first fit() had. */
  paramSpace?: Record<string, unknown>;
  searchAlg?: Searcher;
  scheduler?: TrialScheduler;
  /** runConfig.stop when it was a function (a dict of thresholds is in the state file). */
  stop?: StopCondition;
}

export class Tuner {
  readonly #trainable: DescribedTrainable;
  readonly #shipped: tray.RemoteFunction;
  readonly #options: ResolvedOptions;
  readonly #searcher: Searcher | undefined;
  readonly #scheduler: TrialScheduler | undefined;
  #restore: { dir: string; state: ExperimentState; opts: RestoreOptions } | undefined;

  constructor(trainable: TrainableInput, options?: TunerOptions) {
    this.#trainable = describeTrainable(trainable);
    this.#options = resolveOptions(options, this.#trainable.name);
    this.#shipped = shipTrainable(this.#trainable);
    this.#searcher = options?.tuneConfig?.searchAlg;
    this.#scheduler = options?.tuneConfig?.scheduler;
    checkPolicy(
      this.#searcher,
      ['setSearchProperties', 'suggest', 'onTrialComplete'],
      'tuneConfig.searchAlg',
    );
    checkPolicy(this.#scheduler, ['onTrialResult', 'chooseTrialToRun', 'onTrialAdd'], 'tuneConfig.scheduler');
  }

  /** Whether `dir` holds an experiment a Tuner can restore. */
  static canRestore(dir: string): boolean {
    return typeof dir === 'string' && hasState(path.resolve(dir));
  }

  /** A Tuner that continues the experiment in `dir` (storagePath/name of an earlier fit()). */
  static restore(dir: string, trainable: TrainableInput, opts: RestoreOptions = {}): Tuner {
    const resolved = path.resolve(dir);
    const state = readState(resolved);
    const o = state.options;
    const tuner = new Tuner(trainable, {
      paramSpace: restoredSpace(state, opts.paramSpace),
      tuneConfig: {
        metric: o.metric as string | undefined,
        mode: o.mode as 'min' | 'max' | undefined,
        numSamples: o.numSamples as number,
        ...(o.maxConcurrentTrials ? { maxConcurrentTrials: o.maxConcurrentTrials as number } : {}),
        ...(o.timeBudgetMs ? { timeBudgetMs: o.timeBudgetMs as number } : {}),
        reuseActors: o.reuseActors === true,
        ...(o.seed === undefined ? {} : { seed: o.seed as number }),
        searchAlg: opts.searchAlg,
        scheduler: opts.scheduler,
      },
      runConfig: {
        name: path.basename(resolved),
        storagePath: path.dirname(resolved),
        stop: opts.stop ?? (o.stop as StopCondition | undefined),
        verbose: o.verbose as 0 | 1 | 2,
        failureConfig: { maxFailures: o.maxFailures as number },
        checkpointConfig: {
          ...(o.numToKeep ? { numToKeep: o.numToKeep as number } : {}),
          checkpointScoreAttribute: o.checkpointScoreAttribute as string | undefined,
          checkpointScoreOrder: o.checkpointScoreOrder as 'min' | 'max',
          checkpointFrequency: o.checkpointFrequency as number,
          checkpointAtEnd: o.checkpointAtEnd === true,
        },
      },
    });
    if (tuner.#trainable.kind !== state.trainable.kind) {
      throw new TypeError(
        `Tuner.restore: the experiment ran a ${state.trainable.kind} trainable, but a ${tuner.#trainable.kind} was given.`,
      );
    }
    tuner.#restore = { dir: resolved, state, opts };
    return tuner;
  }

  /** Run the experiment; resolves with every trial's result once none is left to run. */
  async fit(): Promise<ResultGrid> {
    const o = this.#options;
    const dir = path.join(o.storagePath, o.name);
    const restoring = this.#restore;
    if (restoring === undefined && hasState(dir)) {
      throw new Error(
        `Tuner.fit(): ${dir} already holds an experiment. Continue it with Tuner.restore(${JSON.stringify(dir)}, ` +
          'trainable), or give runConfig.name another name.',
      );
    }
    const searcher = this.#searcher ?? (restoring ? this.restoredDefault('searcher') : defaultSearcher());
    const scheduler = this.#scheduler ?? (restoring ? this.restoredDefault('scheduler') : defaultScheduler());
    let state: ExperimentState;
    if (restoring !== undefined) {
      state = this.prepareRestore(restoring.dir, restoring.state, restoring.opts, searcher, scheduler);
    } else {
      this.setUp(searcher, scheduler);
      state = {
        version: STATE_VERSION,
        name: o.name,
        experimentId: randomBytes(3).toString('hex').slice(0, 5),
        trainable: { name: this.#trainable.name, kind: this.#trainable.kind },
        options: persistedOptions(o),
        searcher: { className: searcher.constructor.name, finished: false },
        scheduler: { className: scheduler.constructor.name },
        nextTrialIndex: 0,
        elapsedMs: 0,
        trials: [],
        updatedAt: '',
      };
    }
    mkdirSync(dir, { recursive: true });
    const startedCluster = !tray.isInitialized();
    if (startedCluster) await tray.init();
    const output = new Reporter(o.verbose, o.metric, o.mode);
    output.track(state.trials);
    try {
      await new TuneController({
        options: o,
        experimentDir: dir,
        trainable: this.#trainable,
        shipped: this.#shipped,
        injected: INJECTED_NAMES.filter((n) => !Object.hasOwn(this.#trainable.captures, n)),
        searcher,
        scheduler,
        searcherCountsTrials: countsOwnTrials(searcher),
        state,
        output,
      }).run();
    } finally {
      if (startedCluster) await tray.shutdown();
    }
    const results: Result[] = state.trials.map((t) => {
      const trialDir = path.join(dir, t.dirName);
      const point = restorePoint(t);
      return {
        trialId: t.id,
        status: t.status,
        metrics: t.lastResult,
        config: t.config,
        checkpoint: point === undefined ? undefined : new Checkpoint(path.join(trialDir, point.name)),
        path: trialDir,
        error: t.error === undefined ? undefined : new TrialError(t.id, t.error),
        metricsHistory: readResults(trialDir),
      };
    });
    return new ResultGrid(results, o.metric, o.mode, dir);
  }

  private setUp(searcher: Searcher, scheduler: TrialScheduler): void {
    const o = this.#options;
    let ok: boolean;
    try {
      ok = searcher.setSearchProperties({
        metric: o.metric ?? '',
        mode: o.mode ?? 'max',
        paramSpace: o.paramSpace,
        numSamples: o.numSamples,
        ...(o.seed === undefined ? {} : { seed: o.seed }),
      });
    } catch (error) {
      throw new TypeError(`Tuner: the paramSpace cannot be sampled: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!ok) {
      throw new TypeError(
        `Tuner: tuneConfig.searchAlg (${searcher.constructor.name}) already has its own metric/mode or space that ` +
          'conflict with tuneConfig and paramSpace; give them in one place only.',
      );
    }
    if (o.metric !== undefined && o.mode !== undefined && !scheduler.setSearchProperties(o.metric, o.mode)) {
      throw new TypeError(
        `Tuner: tuneConfig.scheduler (${scheduler.constructor.name}) already has a metric/mode that conflicts with ` +
          `tuneConfig's ${o.metric}/${o.mode}; give them in one place only.`,
      );
    }
  }

  /** The default searcher/scheduler again, when the restored experiment used the default. */
  private restoredDefault(which: 'searcher' | 'scheduler'): Searcher & TrialScheduler {
    const made = (which === 'searcher' ? defaultSearcher() : defaultScheduler()) as Searcher & TrialScheduler;
    const saved = this.#restore!.state[which].className;
    if (made.constructor.name !== saved) {
      const option = which === 'searcher' ? 'searchAlg' : 'scheduler';
      throw new TypeError(
        `Tuner.restore: the experiment used a ${saved} as its ${which}; pass one again: ` +
          `Tuner.restore(path, trainable, { ${option}: new ${saved}(...) }) (its state is restored from the experiment).`,
      );
    }
    return made;
  }

  private prepareRestore(
    dir: string,
    state: ExperimentState,
    opts: RestoreOptions,
    searcher: Searcher,
    scheduler: TrialScheduler,
  ): ExperimentState {
    for (const [what, obj] of [
      ['searcher', searcher],
      ['scheduler', scheduler],
    ] as const) {
      if (obj.constructor.name !== state[what].className) {
        throw new TypeError(
          `Tuner.restore: the experiment's ${what} was a ${state[what].className}, the one given is a ${obj.constructor.name}.`,
        );
      }
    }
    this.setUp(searcher, scheduler);
    if (state.searcher.state !== undefined) searcher.restoreState?.(state.searcher.state);
    if (state.scheduler.state !== undefined && scheduler.restoreState !== undefined) {
      scheduler.restoreState(state.scheduler.state);
    }
    const resumeUnfinished = opts.resumeUnfinished ?? true;
    for (const trial of state.trials) {
      const unfinished =
        trial.status === 'RUNNING' || trial.status === 'PENDING' || trial.status === 'PAUSED';
      const errored = trial.status === 'ERROR';
      if (errored && opts.restartErrored) {
        trial.checkpoints = [];
        trial.restoreFrom = undefined;
      }
      if ((unfinished && resumeUnfinished) || (errored && (opts.resumeErrored || opts.restartErrored))) {
        // Results after the restart point come again: drop them from the files and the count.
        const from = restorePoint(trial);
        const trialDir = path.join(dir, trial.dirName);
        truncateResults(trialDir, from?.iteration ?? 0);
        const kept = readResults(trialDir);
        trial.numResults = kept.length;
        trial.lastResult = kept.at(-1) as typeof trial.lastResult;
        trial.status = trial.status === 'PAUSED' ? 'PAUSED' : 'PENDING';
        trial.error = undefined;
        trial.numFailures = 0;
        trial.pid = undefined;
        if (state.scheduler.state === undefined || scheduler.restoreState === undefined) {
          scheduler.onTrialAdd(
            { trials: () => [] },
            { ...trial, hasCheckpoint: trial.checkpoints.length > 0 },
          );
        }
      } else if (unfinished) {
        trial.status = 'TERMINATED';
      }
    }
    return state;
  }
}

function checkPolicy(obj: unknown, methods: string[], where: string): void {
  if (obj === undefined) return;
  const missing = methods.filter((m) => typeof (obj as Record<string, unknown>)?.[m] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(
      `${where} is missing ${missing.join(', ')}: pass an instance of one of tune's classes or one implementing the interface.`,
    );
  }
}

function persistedOptions(o: ResolvedOptions): Record<string, unknown> {
  const { paramSpace, stop, ...rest } = o;
  const space = encodeSpace(paramSpace);
  return { ...rest, paramSpace: space.json, ...(typeof stop === 'object' ? { stop } : {}) };
}

/** The paramSpace for a restore: the one given, else the one the state holds. */
function restoredSpace(state: ExperimentState, given: Record<string, unknown> | undefined) {
  if (given !== undefined) return given;
  try {
    return decodeSpace(state.options.paramSpace ?? {});
  } catch (error) {
    throw new TypeError(
      `Tuner.restore: ${(error as Error).message}; pass it again: Tuner.restore(path, trainable, { paramSpace }).`,
    );
  }
}
