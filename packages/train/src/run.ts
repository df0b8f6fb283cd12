// One fit(): attempts of the worker group until the loop ends on every worker, or fails more
// often than failureConfig.maxFailures allows. The driver's side of the report barrier lives
// here: report k completes when every worker has made it; then rank 0's metrics (with Ray's
// auto-filled training_iteration, timestamp, time_total_s) enter the history, the workers'
// merged files become checkpoint_NNNNNN, the state file is rewritten and every worker goes on.
// Everything is per run (no process-global state), so a Tune trial actor can run a trainer.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tray from '@tray/core';
import { Checkpoint } from './checkpoint.js';
import type { ResolvedOptions } from './config.js';
import { Progress } from './progress.js';
import type { WorkerEvent, WorkerSetup } from './protocol.js';
import { type Split, splitOnce } from './shards.js';
import { CheckpointManager, type Metrics, partialDir, removePartials, writeState } from './storage.js';
import { type Member, WorkerGroup } from './worker-group.js';

/** A run that failed after its retries (Result.error), or a worker's error inside it. */
export class TrainingFailedError extends Error {
  override name = 'TrainingFailedError';
}

export interface Result {
  /** Rank 0's metrics of the last report (undefined if there was none). */
  metrics: Metrics | undefined;
  /** The latest checkpoint. */
  checkpoint: Checkpoint | undefined;
  /** The run's directory in storage. */
  path: string;
  /** Set, not thrown, when the run failed after its retries. */
  error: Error | undefined;
  metricsHistory: Metrics[];
  /** Every checkpoint kept in storage (numToKeep), oldest first, with the metrics of its report. */
  bestCheckpoints: [Checkpoint, Metrics][];
  /** The kept checkpoint whose metrics have the highest ('max') or lowest ('min') `metric`. */
  getBestCheckpoint(metric: string, mode: 'max' | 'min'): Checkpoint | undefined;
}

type Outcome = { ok: true } | { ok: false; error: Error; retry: boolean };

export class TrainRun {
  private readonly runDir: string;
  private readonly runId = randomBytes(4).toString('hex');
  private readonly started = Date.now();
  private readonly history: Metrics[] = [];
  private readonly checkpoints: CheckpointManager;
  private readonly progress: Progress;
  /** training_iteration of the last completed report. */
  private iteration = 0;
  /** The checkpoint the next attempt starts from, and the iteration it was reported at. */
  private restartFrom: { dir: string; iteration: number } | undefined;

  constructor(
    private readonly loop: tray.RemoteFunction,
    private readonly byReference: boolean,
    private readonly o: ResolvedOptions,
    /** Called with rank 0's metrics (and the kept checkpoint's dir) of each report, before the workers go on (a Tune trial's report). */
    private readonly onReport?: (metrics: Metrics, checkpoint: string | undefined) => Promise<void>,
  ) {
    this.runDir = path.join(o.storagePath, o.name);
    this.checkpoints = new CheckpointManager(this.runDir, o.numToKeep, o.scoreAttribute, o.scoreOrder);
    this.progress = new Progress(o.name, o.verbose);
    if (o.resumeFromCheckpoint !== undefined) {
      if (!existsSync(o.resumeFromCheckpoint))
        throw new Error(
          `DataParallelTrainer.fit: resumeFromCheckpoint ${o.resumeFromCheckpoint} does not exist`,
        );
      this.restartFrom = { dir: o.resumeFromCheckpoint, iteration: 0 };
    }
  }

  async execute(): Promise<Result> {
    let failures = 0;
    let error: Error | undefined;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(attempt);
      if (outcome.ok) break;
      failures++;
      const allowed = this.o.maxFailures === -1 || failures <= this.o.maxFailures;
      if (!outcome.retry || !allowed) {
        error = outcome.error;
        break;
      }
      this.progress.failure(
        `attempt ${attempt} failed (${outcome.error.message}); restarting the group from ${
          this.restartFrom?.dir ?? 'the start'
        } (failure ${failures} of ${this.o.maxFailures === -1 ? 'unlimited' : this.o.maxFailures})`,
      );
    }
    const latest = this.checkpoints.latest;
    const kept: [Checkpoint, Metrics][] = this.checkpoints.kept.map((c) => [
      new Checkpoint(c.path),
      c.metrics,
    ]);
    return {
      metrics: this.history[this.history.length - 1],
      checkpoint: latest === undefined ? undefined : new Checkpoint(latest.path),
      path: this.runDir,
      error,
      metricsHistory: this.history,
      bestCheckpoints: kept,
      getBestCheckpoint: (metric, mode) => bestBy(kept, metric, mode),
    };
  }

  private async attempt(attempt: number): Promise<Outcome> {
    removePartials(this.runDir); // what workers of a failed attempt had copied
    let group: WorkerGroup;
    try {
      group = await WorkerGroup.start(this.o);
    } catch (error) {
      return {
        ok: false,
        error: failed(`the worker group did not start: ${messageOf(error)}`, error),
        retry: true,
      };
    }
    const splits = new Map<string, Promise<Split>>();
    try {
      return await this.drive(group.members, attempt, splits);
    } finally {
      await group.shutdown();
      await Promise.all([...splits.values()].map(async (s) => (await s).stop()));
    }
  }

  private async drive(
    members: Member[],
    attempt: number,
    splits: Map<string, Promise<Split>>,
  ): Promise<Outcome> {
    const n = members.length;
    const base = this.restartFrom?.iteration ?? 0;
    this.iteration = base;
    const groupName = `train-${this.o.name.slice(0, 120)}-${this.runId}-${attempt}`;
    const datasetNames = Object.keys(this.o.datasets);
    const setup = (m: Member): WorkerSetup => ({
      loop: this.loop,
      byReference: this.byReference,
      config: this.o.trainLoopConfig,
      context: {
        worldRank: m.worldRank,
        worldSize: n,
        localRank: m.localRank,
        localWorldSize: m.localWorldSize,
        nodeRank: m.nodeRank,
        experimentName: this.o.name,
        trialName: this.o.name,
        trialDir: this.runDir,
        attempt,
      },
      checkpoint: this.restartFrom?.dir,
      datasetNames,
      groupName,
    });
    /** reports[k][rank]: the k-th report of each worker, while the barrier waits for the rest. */
    const reports = new Map<number, (WorkerEvent & { type: 'report' })[]>();
    const done: (number | undefined)[] = new Array(n).fill(undefined);
    let settle!: (o: Outcome) => void;
    const outcome = new Promise<Outcome>((resolve) => {
      settle = resolve;
    });
    let over = false;
    const finish = (o: Outcome) => {
      if (!over) settle(o);
      over = true;
    };
    const mismatch = (finished: number, count: number, waiting: number, k: number) =>
      finish({
        ok: false,
        retry: false,
        error: new TrainingFailedError(
          `train.report() is a barrier that every worker calls the same number of times, but worker ${finished} ` +
            `returned from the training function after ${count} report(s) while worker ${waiting} called report() ` +
            `a ${k + 1}${ordinal(k + 1)} time; make every worker report on the same iterations`,
        ),
      });

    const complete = async (k: number) => {
      const all = reports.get(k)!;
      reports.delete(k);
      this.iteration = base + k + 1;
      const metrics: Metrics = {
        ...all[0]!.metrics,
        training_iteration: this.iteration,
        timestamp: Math.floor(Date.now() / 1000),
        time_total_s: (Date.now() - this.started) / 1000,
      };
      this.history.push(metrics);
      let keptDir: string | undefined;
      if (all.some((r) => r.checkpoint)) {
        const kept = this.checkpoints.commit(partialDir(this.runDir, attempt, k), metrics);
        this.restartFrom = { dir: kept.path, iteration: this.iteration };
        keptDir = kept.path;
      }
      writeState(this.runDir, {
        name: this.o.name,
        latestCheckpoint: this.checkpoints.latest?.path,
        checkpoints: this.checkpoints.kept,
        metricsHistory: this.history,
      });
      this.progress.iteration(metrics);
      try {
        await this.onReport?.(metrics, keptDir);
      } catch (error) {
        // The Tune trial was stopped: end the run without a retry (the group is torn down).
        finish({ ok: false, retry: false, error: error instanceof Error ? error : new Error(String(error)) });
        return;
      }
      await Promise.all(members.map((m) => tray.get(m.actor.ack.remote(k))));
    };

    const handle = async (m: Member, e: WorkerEvent): Promise<boolean> => {
      const r = m.worldRank;
      switch (e.type) {
        case 'report': {
          const first = done.findIndex((c) => c !== undefined && c <= e.index);
          if (first !== -1) {
            mismatch(first, done[first]!, r, e.index);
            return false;
          }
          let pending = reports.get(e.index);
          if (pending === undefined) reports.set(e.index, (pending = new Array(n)));
          pending[r] = e;
          if (pending.filter(Boolean).length === n) await complete(e.index);
          return true;
        }
        case 'shard':
          await this.shard(m, e, n, splits);
          return true;
        case 'done': {
          done[r] = e.reports;
          for (const [k, pending] of reports) {
            const waiting = pending.findIndex(Boolean);
            if (k >= e.reports && waiting !== -1) {
              mismatch(r, e.reports, waiting, k);
              return false;
            }
          }
          if (done.every((c) => c !== undefined)) finish({ ok: true });
          return false;
        }
        case 'error': {
          const error = new TrainingFailedError(`worker ${r} (pid ${m.pid}): ${e.name}: ${e.message}`);
          if (e.stack) error.stack = `${error.name}: ${error.message}\n  remote ${e.stack}`;
          // A collective fails on the survivors when a member dies: name the dead one as the cause.
          const dead = e.name === 'CollectiveGroupError' ? await deadMember(members) : undefined;
          finish({ ok: false, error: dead ?? error, retry: true });
          return false;
        }
      }
    };

    const pump = async (m: Member) => {
      try {
        await tray.get(m.actor.start.remote(setup(m)));
        while (!over) {
          const e = (await tray.get(m.actor.next.remote())) as WorkerEvent;
          if (over || !(await handle(m, e))) return;
        }
      } catch (error) {
        finish({
          ok: false,
          retry: true,
          error: failed(`worker ${m.worldRank} (pid ${m.pid}) failed: ${messageOf(error)}`, error),
        });
      }
    };
    for (const m of members) void pump(m);
    return outcome;
  }

  /** Gives a worker the iterator of its shard of a dataset for one epoch. */
  private async shard(
    m: Member,
    e: WorkerEvent & { type: 'shard' },
    n: number,
    splits: Map<string, Promise<Split>>,
  ): Promise<void> {
    const ds = this.o.datasets[e.name]!;
    // train: one execution per epoch, split equally; others: one whole pass per worker and epoch
    const shared = e.name === 'train';
    const key = shared ? `train/${e.epoch}` : `${e.name}/${e.epoch}/${m.worldRank}`;
    let split = splits.get(key);
    if (split === undefined) splits.set(key, (split = splitOnce(ds, shared ? n : 1, shared)));
    const { iterators } = await split;
    await tray.get(m.actor.deliver.remote(e.id, iterators[shared ? m.worldRank : 0]));
  }
}

function bestBy(kept: [Checkpoint, Metrics][], metric: string, mode: 'max' | 'min'): Checkpoint | undefined {
  if (mode !== 'max' && mode !== 'min')
    throw new TypeError(`Result.getBestCheckpoint: mode must be 'max' or 'min'; got ${String(mode)}`);
  let best: [Checkpoint, number] | undefined;
  for (const [c, m] of kept) {
    const v = m[metric];
    if (typeof v !== 'number' || Number.isNaN(v)) continue;
    if (best === undefined || (mode === 'max' ? v > best[1] : v < best[1])) best = [c, v];
  }
  return best?.[0];
}

/** The first member whose actor no longer answers (its death as a TrainingFailedError), if any. */
async function deadMember(members: Member[]): Promise<TrainingFailedError | undefined> {
  const answers = await Promise.allSettled(
    members.map((m) => tray.get(m.actor.info.remote(), { timeoutMs: 10_000 })),
  );
  const at = answers.findIndex((a) => a.status === 'rejected');
  if (at === -1) return undefined;
  const m = members[at]!;
  const reason = (answers[at] as PromiseRejectedResult).reason;
  return failed(`worker ${m.worldRank} (pid ${m.pid}) failed: ${messageOf(reason)}`, reason);
}

function ordinal(k: number): string {
  if (k % 100 >= 11 && k % 100 <= 13) return 'th';
  return ['th', 'st', 'nd', 'rd'][k % 10] ?? 'th';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failed(message: string, cause: unknown): TrainingFailedError {
  return new TrainingFailedError(message, { cause });
}
