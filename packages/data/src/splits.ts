// Splitting a dataset among consumers: split (n materialized parts), streamingSplit (n
// iterators over one streaming execution, e.g. one per training worker) and trainTestSplit.

import * as tray from '@tray/core';
import type { BlockRef } from './exec/plan.js';
import { splitCoordinator } from './exec/remote.js';
import { type DataIterator, SplitIterator } from './iterate.js';
import { positiveInt, totalRows } from './options.js';
import { evenSizes, reblock } from './shuffle/plan.js';

/**
 * What splitting needs of a dataset: dataset.ts's Dataset has it, and passes its fromBlocks as
 * `make` (declared here, so that this file does not import dataset.ts: no import circle).
 */
export interface SplitSource {
  blocks(): AsyncIterable<BlockRef>;
  materializedBlocks(): Promise<BlockRef[]>;
  randomShuffle(options: { seed?: number }): SplitSource;
}
export type MakeDataset<D> = (blocks: BlockRef[], name: string) => D;

/** n materialized datasets of near-equal rows (exactly equal, dropping the rest, with equal). */
export async function split<D>(
  ds: SplitSource,
  n: number,
  options: { equal?: boolean },
  make: MakeDataset<D>,
): Promise<D[]> {
  positiveInt(n, 'split: n');
  const blocks = await ds.materializedBlocks();
  const total = totalRows(blocks);
  const sizes = options.equal ? new Array(n).fill(Math.floor(total / n)) : evenSizes(total, n);
  const parts = await reblock(blocks, sizes);
  return parts.map((b, i) => make([b], `Split(${i})`));
}

/**
 * n iterators that share one streaming execution, through a coordinator actor
 * (worker/split-coordinator.ts): each block goes to whichever iterator asks next, or, with
 * equal, so that every iterator gets exactly floor(total / n) rows. The execution starts when
 * the first iterator asks, runs at the consumers' pace, and the iterators may be passed to
 * tasks or actors in other processes (DataIterator.from there). One pass over the data.
 */
export function streamingSplit(ds: SplitSource, n: number, options: { equal?: boolean }): DataIterator[] {
  positiveInt(n, 'streamingSplit: n');
  const coordinator = splitCoordinator()
    .options({ numCpus: 0, maxConcurrency: 2 * n + 8, name: 'SplitCoordinator' })
    .remote(n, options.equal === true) as SplitIterator['coordinator'];
  // Ends with the coordinator; a driver that shuts down first ends it with a rejection.
  feedSplitCoordinator(coordinator, ds.blocks()).catch(() => undefined);
  return Array.from({ length: n }, (_, i) => new SplitIterator(coordinator, i));
}

/** The calls of a split coordinator actor that feeding it takes (its handle's methods). */
export interface SplitCoordinatorFeed {
  started: { remote(): tray.ObjectRef<unknown> };
  offer: {
    remote(item: { block: BlockRef['block']; meta: BlockRef['meta'] }, seq: number): tray.ObjectRef<number[]>;
  };
  finish: { remote(error?: string): tray.ObjectRef<number[]> };
  drained: { remote(): tray.ObjectRef<unknown> };
}

/**
 * Feeds one streaming execution's blocks to a split coordinator (streamingSplit's, or train's
 * unnamed ones), then kills it once its splits drained. Each block is offered with its number and
 * stays counted against the operator that made it until the coordinator says its splits consumed
 * it (the coordinator borrows it once its offer's reply came).
 */
export async function feedSplitCoordinator(
  coordinator: SplitCoordinatorFeed,
  blocks: AsyncIterable<BlockRef>,
): Promise<void> {
  await tray.get(coordinator.started.remote());
  const held = new Map<number, () => void>();
  const gone = (seqs: number[]) => {
    for (const seq of seqs) {
      held.get(seq)?.();
      held.delete(seq);
    }
  };
  let seq = 0;
  try {
    try {
      for await (const b of blocks) {
        const n = seq++;
        const reply = await tray.get(coordinator.offer.remote({ block: b.block, meta: b.meta }, n));
        if (b.handOver !== undefined) held.set(n, b.handOver());
        else if (b.release !== undefined) held.set(n, b.release);
        gone(reply);
      }
      gone(await tray.get(coordinator.finish.remote()));
    } catch (error) {
      await tray.get(coordinator.finish.remote(messageOf(error)));
      return;
    }
    await tray.get(coordinator.drained.remote());
    await tray.kill(coordinator as unknown as tray.ActorHandle<object>);
  } finally {
    gone([...held.keys()]);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface SplitOptions {
  shuffle?: boolean;
  seed?: number;
}

/** [train, test]: the last floor(count × testSize) rows (after an optional shuffle) are the test set. */
export async function trainTestSplit<D>(
  ds: SplitSource,
  testSize: number,
  options: SplitOptions,
  make: MakeDataset<D>,
): Promise<[D, D]> {
  if (!(typeof testSize === 'number' && testSize > 0 && testSize < 1)) {
    throw new TypeError(`trainTestSplit: testSize must be a fraction between 0 and 1; got ${testSize}`);
  }
  const source = options.shuffle ? ds.randomShuffle({ seed: options.seed }) : ds;
  const blocks = await source.materializedBlocks();
  const total = totalRows(blocks);
  const test = Math.floor(total * testSize);
  const [train, testBlock] = await reblock(blocks, [total - test, test]);
  return [make([train!], 'TrainSplit'), make([testBlock!], 'TestSplit')];
}
