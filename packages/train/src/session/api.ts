// The functions a training loop calls (LIBRARIES.md's Train section): getContext, report,
// getCheckpoint, getDatasetShard and the collectives of the attempt's group. Each acts on this
// worker's Session (session.ts) and says clearly when called outside a training function.
import { type Batch, DataIterator, type IterBatchesOptions, type Row } from '@tray/data';
import { Checkpoint } from '../checkpoint.js';
import type { AllReduceOptions, CollectiveGroup, OpOptions, ReduceOp, Tensor } from '../collective/types.js';
import type { TrainContextValues } from '../protocol.js';
import { type Session, session } from './session.js';

export type TrainContext = Readonly<TrainContextValues>;

/** This worker's ranks and the run's names. */
export function getContext(): TrainContext {
  return session('getContext').context;
}

/** The checkpoint this attempt starts from (the latest reported one, or resumeFromCheckpoint). */
export function getCheckpoint(): Checkpoint | undefined {
  const dir = session('getCheckpoint').checkpoint;
  return dir === undefined ? undefined : new Checkpoint(dir);
}

/**
 * Reports this iteration's metrics, with a checkpoint directory whose files go into the run's
 * storage (merged with the other workers' of the same report). A barrier: it returns once every
 * worker has made this report, so every worker must call it the same number of times.
 */
export async function report(metrics: Record<string, unknown>, options: { checkpoint?: Checkpoint } = {}) {
  const s = session('report');
  if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics))
    throw new TypeError(
      `train.report(metrics): metrics must be an object of named values; got ${String(metrics)}`,
    );
  let dir: string | undefined;
  if (options?.checkpoint !== undefined) {
    const p = (options.checkpoint as { path?: unknown }).path;
    if (typeof p !== 'string')
      throw new TypeError(
        'train.report(metrics, { checkpoint }): checkpoint must be a Checkpoint (train.Checkpoint.fromDirectory(dir))',
      );
    dir = p;
  }
  let plain: Record<string, unknown>;
  try {
    plain = structuredClone(metrics);
  } catch (error) {
    throw new TypeError(`train.report(metrics): metrics must be plain values: ${(error as Error).message}`);
  }
  await s.report(plain, dir);
}

/**
 * This worker's part of a dataset given to the trainer: for `train`, one of streamingSplit's
 * equal parts; for the others, the whole dataset. Each iterBatches() or iterRows() is one epoch.
 */
export function getDatasetShard(name: string): DataIterator {
  const s = session('getDatasetShard');
  if (!s.datasetNames.includes(name))
    throw new Error(
      `train.getDatasetShard(${JSON.stringify(name)}): the trainer has no dataset of that name (datasets: ${
        s.datasetNames.join(', ') || 'none'
      }); pass it in the trainer's datasets option`,
    );
  return new ShardIterator(s, name);
}

/** A dataset shard that asks the driver for a new execution's iterator per epoch. */
class ShardIterator extends DataIterator {
  constructor(
    private readonly s: Session,
    private readonly name: string,
  ) {
    super();
  }

  override async *iterBatches(options: IterBatchesOptions = {}): AsyncGenerator<Batch> {
    const it = DataIterator.from(await this.s.shard(this.name));
    yield* it.iterBatches(options);
  }

  override async *iterRows(): AsyncGenerator<Row> {
    const it = DataIterator.from(await this.s.shard(this.name));
    yield* it.iterRows();
  }
}

// The collectives of the attempt's group (every worker opened it before its loop started): a dead
// member makes them reject with CollectiveGroupError on every worker, which fails the attempt.
function group(where: string): CollectiveGroup {
  const g = session(where).group;
  if (g === undefined) throw new Error(`train.${where}(): this attempt has no collective group`);
  return g;
}

export function allReduce<T extends Tensor>(tensor: T, options?: AllReduceOptions<T>): Promise<T> {
  return group('allReduce').allReduce(tensor, options);
}

export function broadcast<T extends Tensor>(
  tensor: T,
  options?: { srcRank?: number } & OpOptions,
): Promise<T> {
  return group('broadcast').broadcast(tensor, options);
}

export function allGather<T extends Tensor>(tensor: T, options?: OpOptions): Promise<T[]> {
  return group('allGather').allGather(tensor, options);
}

export function reduceScatter<T extends Tensor>(
  tensor: T,
  options?: { op?: ReduceOp } & OpOptions,
): Promise<T> {
  return group('reduceScatter').reduceScatter(tensor, options);
}

/** An array the attempt's group moves without staging copies on one node (CollectiveGroup.sharedArray). */
export function sharedArray<T extends Tensor>(
  type: { new (length: number): T; BYTES_PER_ELEMENT: number },
  length: number,
): T {
  return group('sharedArray').sharedArray(type, length);
}

export function barrier(options?: OpOptions): Promise<void> {
  return group('barrier').barrier(options);
}
