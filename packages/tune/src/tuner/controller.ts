// The experiment loop (Ray's TuneController): ask the searcher for trials, reserve each trial's
// resources and start its actor, take results one at a time, let the scheduler decide
// (continue, stop, pause, exploit), restart failed trials from their checkpoints, and write the
// experiment state after every change. Events from the cluster (resources reserved, actor
// started, a result, a failure) arrive in one queue, so trial state is changed in one place.
import path from 'node:path';
import type * as tray from '@tray/core';
import { TaskError } from '@tray/core';
import type { Output } from '../output/reporter.js';
import type { SchedulerContext, TrialScheduler } from '../schedulers/trial-scheduler.js';
import { FINISHED, type Searcher } from '../search/searcher.js';
import type { ExperimentState } from '../storage/experiment-state.js';
import { StateWriter } from '../storage/experiment-state.js';
import { appendResult, writeError, writeParams } from '../storage/trial-files.js';
import type { DescribedTrainable } from '../trainable/define.js';
import { PlacementGroupFactory } from '../trainable/resources.js';
import type { TrialResult } from '../types.js';
import type { RunnerEvent, TrialSpec } from '../worker/trial-spec.js';
import { cloneCheckpoint, recordCheckpoint } from './checkpoints.js';
import type { ResolvedOptions } from './config.js';
import { checkFirstResult, shouldStop } from './stopping.js';
import { restorePoint, type TrialRecord, viewOf } from './trial.js';
import { type Lease, TrialExecutor } from './trial-executor.js';

interface Live {
  gen: number;
  lease?: Lease;
  phase: 'reserving' | 'starting' | 'running';
}

type Event =
  | { kind: 'reserved'; id: string; gen: number }
  | { kind: 'started'; id: string; gen: number; info: { pid?: number; hostname?: string } }
  | { kind: 'runner'; id: string; gen: number; event: RunnerEvent }
  | { kind: 'failed'; id: string; gen: number; error: unknown };

export interface ControllerParts {
  options: ResolvedOptions;
  experimentDir: string;
  trainable: DescribedTrainable;
  shipped: tray.RemoteFunction;
  injected: string[];
  searcher: Searcher;
  scheduler: TrialScheduler;
  /** Whether the searcher ends the experiment itself (else numSamples trials are asked for). */
  searcherCountsTrials: boolean;
  state: ExperimentState;
  output: Output;
}

export class TuneController {
  private readonly trials: TrialRecord[];
  private readonly live = new Map<string, Live>();
  private readonly queue: Event[] = [];
  private wake: (() => void) | undefined;
  private gen = 0;
  private readonly executor: TrialExecutor;
  private readonly ctx: SchedulerContext;
  private readonly started = Date.now();
  private fatal: Error | undefined;
  private readonly stops: string[] = [];
  private readonly writer: StateWriter;

  constructor(private readonly p: ControllerParts) {
    this.trials = p.state.trials;
    this.executor = new TrialExecutor((m) => p.output.warn(m));
    this.writer = new StateWriter(p.experimentDir, () => {
      p.state.searcher.state = p.searcher.saveState?.();
      p.state.scheduler.state = p.scheduler.saveState?.();
      return p.state;
    });
    this.ctx = {
      trials: () => this.trials.map((t) => viewOf(t, this.live.has(t.id))),
      // Called while the scheduler decides on another trial: applied once that decision is.
      stopTrial: (id) => void this.stops.push(id),
    };
  }

  async run(): Promise<void> {
    const budget = this.p.options.timeBudgetMs;
    try {
      await this.persist();
      while (this.fatal === undefined) {
        const left =
          budget > 0
            ? budget - this.p.state.elapsedMs - (Date.now() - this.started)
            : Number.POSITIVE_INFINITY;
        if (left <= 0) {
          this.p.output.warn(`time budget of ${budget} ms reached: stopping the running trials`);
          await this.stopAll();
          break;
        }
        this.fill();
        if (this.fatal !== undefined) break;
        if (this.live.size === 0) break;
        const event = await this.nextEvent(left);
        if (event !== undefined) await this.handle(event);
        await this.applyStops();
      }
      if (this.fatal !== undefined) {
        await this.stopAll();
        throw this.fatal;
      }
    } finally {
      await this.executor.shutdown();
      this.p.state.elapsedMs += Date.now() - this.started;
      await this.persist();
      this.p.output.end(this.trials);
    }
  }

  private dirOf(trial: TrialRecord): string {
    return path.join(this.p.experimentDir, trial.dirName);
  }

  /** Write the experiment state (await it where a restore depends on the change being on disk). */
  private persist(): Promise<void> {
    return this.writer.write();
  }

  private push(event: Event): void {
    this.queue.push(event);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async nextEvent(timeoutMs: number): Promise<Event | undefined> {
    if (this.queue.length === 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (Number.isFinite(timeoutMs)) timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    return this.queue.shift();
  }

  /** Start trials while there is room: one reservation outstanding at a time, within maxConcurrentTrials. */
  private fill(): void {
    const max = this.p.options.maxConcurrentTrials;
    while (this.fatal === undefined) {
      if (max > 0 && this.live.size >= max) return;
      for (const l of this.live.values()) if (l.phase === 'reserving') return;
      const chosen = this.p.scheduler.chooseTrialToRun(this.ctx);
      const trial = chosen === undefined ? undefined : this.trials.find((t) => t.id === chosen.id);
      if (trial !== undefined && !this.live.has(trial.id)) {
        this.stage(trial);
        return;
      }
      if (!this.suggest()) return;
    }
  }

  /** Ask the searcher for one more trial; false when it has none now (or ever). */
  private suggest(): boolean {
    const s = this.p.state;
    if (s.searcher.finished) return false;
    const n = this.p.options.numSamples;
    if (!this.p.searcherCountsTrials && n > 0 && this.trials.length >= n) return false;
    const id = `${s.experimentId}_${String(s.nextTrialIndex).padStart(5, '0')}`;
    let config: ReturnType<Searcher['suggest']>;
    try {
      config = this.p.searcher.suggest(id);
    } catch (error) {
      this.fatal = new Error(
        `Tuner: the search algorithm could not suggest a config: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
      return false;
    }
    if (config === FINISHED) {
      s.searcher.finished = true;
      void this.persist();
      return false;
    }
    if (config === null) return false;
    s.nextTrialIndex++;
    let pgf: PlacementGroupFactory;
    try {
      pgf = this.p.trainable.resources(config);
    } catch (error) {
      this.fatal = error as Error;
      return false;
    }
    const trial: TrialRecord = {
      id,
      dirName: `${this.p.trainable.name}_${id}`,
      config,
      status: 'PENDING',
      numResults: 0,
      numFailures: 0,
      checkpoints: [],
      nextCheckpointIndex: 0,
      resources: pgf.toJSON(),
    };
    this.trials.push(trial);
    writeParams(this.dirOf(trial), config);
    this.p.scheduler.onTrialAdd(this.ctx, viewOf(trial));
    this.p.output.status(trial);
    void this.persist();
    return true;
  }

  private stage(trial: TrialRecord): void {
    const pgf = new PlacementGroupFactory(trial.resources.bundles, {
      strategy: trial.resources.strategy as PlacementGroupFactory['strategy'],
    });
    const live: Live = { gen: ++this.gen, phase: 'reserving' };
    this.live.set(trial.id, live);
    const { lease, ready } = this.executor.reserve(pgf);
    live.lease = lease;
    ready.then(
      () => this.push({ kind: 'reserved', id: trial.id, gen: live.gen }),
      (error) => this.push({ kind: 'failed', id: trial.id, gen: live.gen, error }),
    );
  }

  private specOf(trial: TrialRecord): TrialSpec {
    const from = restorePoint(trial);
    return {
      trainable: this.p.shipped,
      kind: this.p.trainable.kind,
      injected: this.p.injected,
      ...(this.p.trainable.reference === undefined ? {} : { args: this.p.trainable.reference.args }),
      config: trial.config,
      trialId: trial.id,
      trialName: trial.dirName,
      trialDir: this.dirOf(trial),
      experimentName: this.p.options.name,
      numFailures: trial.numFailures,
      restore:
        from === undefined
          ? undefined
          : {
              path: path.join(this.dirOf(trial), from.name),
              iteration: from.iteration,
              timeTotal: from.timeTotal,
            },
      checkpointIndex: trial.nextCheckpointIndex,
      checkpointFrequency: this.p.options.checkpointFrequency,
      checkpointAtEnd: this.p.options.checkpointAtEnd,
    };
  }

  private async handle(event: Event): Promise<void> {
    const live = this.live.get(event.id);
    if (live === undefined || live.gen !== event.gen) return; // from an actor already let go
    const trial = this.trials.find((t) => t.id === event.id)!;
    switch (event.kind) {
      case 'reserved': {
        live.phase = 'starting';
        const pgf = new PlacementGroupFactory(trial.resources.bundles, {
          strategy: trial.resources.strategy as PlacementGroupFactory['strategy'],
        });
        this.executor.launch(live.lease!, pgf, this.specOf(trial)).then(
          (info) => this.push({ kind: 'started', id: trial.id, gen: live.gen, info }),
          (error) => this.push({ kind: 'failed', id: trial.id, gen: live.gen, error }),
        );
        return;
      }
      case 'started':
        live.phase = 'running';
        trial.status = 'RUNNING';
        trial.pid = event.info.pid ?? trial.pid;
        trial.hostname = event.info.hostname ?? trial.hostname;
        void this.persist();
        this.p.output.status(trial);
        this.callNext(trial, live);
        return;
      case 'runner':
        if (event.event.type === 'done') {
          if (trial.lastResult !== undefined) trial.lastResult = { ...trial.lastResult, done: true };
          await this.finish(trial, 'TERMINATED');
        } else await this.onResult(trial, live, event.event.result as TrialResult, event.event.checkpoint);
        return;
      case 'failed':
        await this.onFailure(trial, event.error);
        return;
    }
  }

  /** Trials a scheduler stopped through ctx.stopTrial (HyperBand's paused losers). */
  private async applyStops(): Promise<void> {
    for (const id of this.stops.splice(0)) {
      const trial = this.trials.find((t) => t.id === id);
      if (trial === undefined || trial.status === 'TERMINATED' || trial.status === 'ERROR') continue;
      await this.finish(trial, 'TERMINATED');
    }
  }

  private callNext(trial: TrialRecord, live: Live): void {
    this.executor.next(live.lease!).then(
      (event) => this.push({ kind: 'runner', id: trial.id, gen: live.gen, event }),
      (error) => this.push({ kind: 'failed', id: trial.id, gen: live.gen, error }),
    );
  }

  private async onResult(trial: TrialRecord, live: Live, result: TrialResult, checkpoint?: string) {
    const o = this.p.options;
    if (trial.numResults === 0 && trial.numFailures === 0) {
      try {
        checkFirstResult(result, o.metric, o.stop);
      } catch (error) {
        this.fatal = error as Error;
        return;
      }
    }
    trial.numResults++;
    trial.lastResult = result;
    appendResult(this.dirOf(trial), result, trial.config);
    if (checkpoint !== undefined) recordCheckpoint(trial, this.dirOf(trial), checkpoint, result, o);
    this.p.searcher.onTrialResult?.(trial.id, result);
    this.p.output.result(trial, result);
    if (result.done === true || shouldStop(o.stop, result)) {
      await this.finish(trial, 'TERMINATED');
      return;
    }
    const decision = this.p.scheduler.onTrialResult(this.ctx, viewOf(trial, true), result);
    if (decision === 'CONTINUE') {
      if (checkpoint !== undefined) await this.persist();
      else void this.persist();
      this.callNext(trial, live);
    } else if (decision === 'STOP') {
      await this.finish(trial, 'TERMINATED');
    } else if (decision === 'PAUSE') {
      const saved = await this.executor.save(live.lease!).catch(() => undefined);
      if (saved !== undefined) recordCheckpoint(trial, this.dirOf(trial), saved, result, o);
      await this.letGo(trial, 'PAUSED', false);
    } else {
      const { fromTrialId, config } = decision.exploit;
      const source = this.trials.find((t) => t.id === fromTrialId);
      const point = source === undefined ? undefined : restorePoint(source);
      if (source !== undefined && point !== undefined) {
        cloneCheckpoint(trial, this.dirOf(trial), point, this.dirOf(source));
      }
      trial.config = config;
      writeParams(this.dirOf(trial), config);
      await this.letGo(trial, 'PENDING', false);
    }
  }

  private async onFailure(trial: TrialRecord, error: unknown): Promise<void> {
    const message = describeFailure(error);
    trial.numFailures++;
    const max = this.p.options.maxFailures;
    writeError(this.dirOf(trial), message);
    if (max === -1 || trial.numFailures <= max) {
      this.p.output.warn(
        `trial ${trial.id} failed (${trial.numFailures}/${max === -1 ? '∞' : max}); restarting from ` +
          `${restorePoint(trial)?.name ?? 'the beginning'}: ${message.split('\n')[0]}`,
      );
      await this.letGo(trial, 'PENDING', false);
      return;
    }
    trial.error = message;
    await this.letGo(trial, 'ERROR', false);
    this.p.scheduler.onTrialError(this.ctx, viewOf(trial));
    this.p.searcher.onTrialComplete(trial.id, trial.lastResult, true);
    await this.persist();
  }

  /** The trial ran to its end (or was stopped). */
  private async finish(trial: TrialRecord, status: 'TERMINATED'): Promise<void> {
    await this.letGo(trial, status, this.p.options.reuseActors);
    this.p.scheduler.onTrialComplete(this.ctx, viewOf(trial), trial.lastResult);
    this.p.searcher.onTrialComplete(trial.id, trial.lastResult, false);
    await this.persist();
  }

  /** Free the trial's actor and resources and set its status. */
  private async letGo(trial: TrialRecord, status: TrialRecord['status'], reuse: boolean): Promise<void> {
    const live = this.live.get(trial.id);
    this.live.delete(trial.id);
    trial.status = status;
    trial.pid = undefined;
    await this.persist();
    this.p.output.status(trial);
    if (live?.lease === undefined) return;
    if (live.phase === 'reserving') await this.executor.cancel(live.lease);
    else await this.executor.release(live.lease, reuse && live.phase === 'running');
  }

  private async stopAll(): Promise<void> {
    for (const trial of this.trials) {
      if (!this.live.has(trial.id)) continue;
      if (trial.status === 'RUNNING') await this.finish(trial, 'TERMINATED');
      else await this.letGo(trial, trial.status, false);
    }
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof TaskError) {
    const cause = error.cause;
    const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : error.message;
    const stack = error.remoteStack;
    if (!stack) return text;
    return stack.startsWith(text) ? stack : `${text}\n${stack}`;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
