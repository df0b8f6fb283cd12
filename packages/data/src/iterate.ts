// Consuming a dataset in the driver: blocks from the executor, fetched (a zero-copy view of the
// store when the block is on this node) and re-cut into batches of `batchSize` rows, with an
// optional local shuffle buffer, prefetching the next blocks while the caller works on a batch.
import * as tray from '@tray/core';
import type { Table } from 'apache-arrow';
import {
  BATCH_FORMATS,
  type Batch,
  type BatchFormat,
  concatTables,
  decodeBlock,
  type Row,
  toRows,
} from './block.js';
import { collectSoon } from './exec/collect.js';
import { dropBlock } from './exec/execution.js';
import type { BlockRef } from './exec/plan.js';
import { Cutter } from './iter/cut.js';
import { seededRandom } from './shuffle/keys.js';
import { shuffledOrder } from './shuffle/order.js';
import { takeIndices } from './stages.js';

export interface IterBatchesOptions {
  /** Rows per batch (default 256); null gives whole blocks. */
  batchSize?: number | null;
  /** 'columns' (default), 'rows' or 'arrow'. */
  batchFormat?: BatchFormat;
  /** Blocks fetched ahead of the one being cut into batches (default 1). */
  prefetchBatches?: number;
  /** Shuffle rows within a buffer of this many rows before batching. */
  localShuffleBufferSize?: number;
  localShuffleSeed?: number;
  /** Drop a last batch smaller than batchSize. */
  dropLast?: boolean;
}

export function checkIterOptions(
  o: IterBatchesOptions,
  where: string,
): Required<Pick<IterBatchesOptions, 'batchFormat'>> & IterBatchesOptions {
  if (o === null || typeof o !== 'object') throw new TypeError(`${where}: options must be an object`);
  const format = o.batchFormat ?? 'columns';
  if (!BATCH_FORMATS.includes(format)) {
    throw new TypeError(
      `${where}: batchFormat must be one of ${BATCH_FORMATS.join(', ')}; got ${JSON.stringify(o.batchFormat)}`,
    );
  }
  if (
    o.batchSize !== undefined &&
    o.batchSize !== null &&
    !(Number.isInteger(o.batchSize) && o.batchSize > 0)
  ) {
    throw new TypeError(
      `${where}: batchSize must be a positive integer or null (whole blocks); got ${o.batchSize}`,
    );
  }
  return { ...o, batchFormat: format };
}

/**
 * The tables of the blocks, in order. Blocks are fetched from the store ahead of the one being
 * used: at least `blocksAhead`, and more while the rows fetched ahead are fewer than
 * `rowsAhead` (iterBatches asks for prefetchBatches × batchSize rows).
 */
export async function* tablesOf(
  blocks: AsyncIterable<BlockRef>,
  blocksAhead: number,
  rowsAhead = 0,
): AsyncGenerator<Table> {
  const queue: { ref: BlockRef; bytes: Promise<Uint8Array> }[] = [];
  const iterator = blocks[Symbol.asyncIterator]();
  let exhausted = false;
  let queuedRows = 0;
  const fill = async (atLeast: number) => {
    while (!exhausted && (queue.length < atLeast || queuedRows < rowsAhead)) {
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const bytes = tray.get(next.value.block);
      bytes.catch(() => undefined);
      queue.push({ ref: next.value, bytes });
      queuedRows += next.value.meta.numRows;
    }
  };
  try {
    await fill(Math.max(1, blocksAhead));
    while (queue.length > 0) {
      const head = queue.shift()!;
      queuedRows -= head.ref.meta.numRows;
      const table = decodeBlock(await head.bytes);
      await fill(blocksAhead);
      yield table;
      dropBlock(head.ref, true);
      if (queue.length === 0) await fill(1);
    }
  } finally {
    await iterator.return?.(undefined);
    // The consumer is done with every block: their store objects go once the refs are collected.
    collectSoon();
  }
}

/** Blocks fetched ahead for iterBatches' prefetchBatches (default 1) and batch size. */
export function iterTables(
  blocks: AsyncIterable<BlockRef>,
  o: ReturnType<typeof checkIterOptions>,
): AsyncGenerator<Table> {
  const prefetch = o.prefetchBatches ?? 1;
  const size = o.batchSize === undefined ? 256 : o.batchSize;
  // Whole-block batches: prefetchBatches counts blocks.
  if (size === null) return tablesOf(blocks, prefetch);
  return tablesOf(blocks, Math.min(prefetch, 1), prefetch * size);
}

export async function* batchesOf(
  tables: AsyncIterable<Table>,
  o: ReturnType<typeof checkIterOptions>,
): AsyncGenerator<Batch> {
  const size = o.batchSize === undefined ? 256 : o.batchSize;
  if (o.localShuffleBufferSize) {
    yield* shuffledBatchesOf(tables, o, size);
    return;
  }
  // Batches are cut from the blocks' buffers (no copy); only a batch that spans blocks is joined.
  const cutter = new Cutter(size, o.batchFormat, o.dropLast);
  for await (const table of tables) yield* cutter.push(table);
  yield* cutter.finish();
}

/**
 * Batches drawn at random from a buffer of at least localShuffleBufferSize rows (Ray's
 * shuffling batcher): once the buffer holds that many rows plus a batch, it is shuffled once
 * and batches are cut off its front while the rest stays at least localShuffleBufferSize; at
 * the end the rest is shuffled and cut. The same seed gives the same batches.
 */
async function* shuffledBatchesOf(
  tables: AsyncIterable<Table>,
  o: ReturnType<typeof checkIterOptions>,
  size: number | null,
): AsyncGenerator<Batch> {
  const random = seededRandom(o.localShuffleSeed ?? Date.now());
  const minBuffer = o.localShuffleBufferSize ?? 0;
  let buffer: Table[] = [];
  let buffered = 0;
  for await (const table of tables) {
    if (table.numRows === 0) continue;
    buffer.push(table);
    buffered += table.numRows;
    const batch = size ?? table.numRows;
    if (buffered < minBuffer + batch) continue;
    const all = shuffled(concatTables(buffer), random);
    // Whole batches off the front, leaving at least minBuffer rows to mix with what comes next.
    const cut = Math.floor((buffered - minBuffer) / batch) * batch;
    const cutter = new Cutter(batch, o.batchFormat);
    yield* cutter.push(all.slice(0, cut));
    const rest = all.slice(cut);
    buffer = rest.numRows > 0 ? [rest] : [];
    buffered = rest.numRows;
  }
  if (buffered > 0) {
    const all = shuffled(concatTables(buffer), random);
    const cutter = new Cutter(size, o.batchFormat, o.dropLast);
    yield* cutter.push(all);
    yield* cutter.finish();
  }
}

function shuffled(table: Table, random: () => number): Table {
  return takeIndices(table, shuffledOrder(table.numRows, random));
}

export async function* rowsOf(tables: AsyncIterable<Table>): AsyncGenerator<Row> {
  for await (const table of tables) yield* toRows(table);
}

/** An iterator over a part of a dataset (what split and streamingSplit hand out). */
export class DataIterator {
  constructor(private readonly blocks?: () => AsyncIterable<BlockRef>) {}

  /**
   * The iterator again after it travelled to another process as a task's or actor's argument
   * (a value loses its class on the way): `DataIterator.from(it).iterBatches()`. Only
   * streamingSplit's iterators can travel; they share their execution through an actor.
   */
  static from(value: unknown): DataIterator {
    if (value instanceof DataIterator) return value;
    const v = value as { coordinator?: unknown; split?: unknown } | null;
    if (v !== null && typeof v === 'object' && v.coordinator !== undefined && Number.isInteger(v.split))
      return new SplitIterator(v.coordinator as SplitIterator['coordinator'], v.split as number);
    throw new TypeError(
      "DataIterator.from: expected a DataIterator, or one of streamingSplit's iterators passed to this process",
    );
  }

  iterBatches(options: IterBatchesOptions = {}): AsyncGenerator<Batch> {
    const o = checkIterOptions(options, 'iterBatches');
    return batchesOf(this.tables(o), o);
  }

  iterRows(): AsyncGenerator<Row> {
    return rowsOf(this.tables());
  }

  protected tables(o?: ReturnType<typeof checkIterOptions>): AsyncGenerator<Table> {
    if (this.blocks === undefined) throw new Error('DataIterator: this iterator has no blocks');
    return o === undefined ? tablesOf(this.blocks(), 1) : iterTables(this.blocks(), o);
  }
}

/** Blocks a split iterator uses between two collections of its process's heap. */
const SPLIT_COLLECT_EVERY = 4;

/**
 * One of streamingSplit's n iterators: it asks the split coordinator actor for its split's
 * next block (whole, or a row range of it), one ahead of the batch being used. Its fields are
 * plain values and an actor handle, so it can be passed to a task or actor in another process.
 */
export class SplitIterator extends DataIterator {
  constructor(
    readonly coordinator: tray.ActorHandle<import('./worker/split-coordinator.js').SplitCoordinator>,
    readonly split: number,
  ) {
    super();
  }

  protected override async *tables(): AsyncGenerator<Table> {
    const ask = () => {
      const p = tray.get(this.coordinator.next.remote(this.split));
      p.catch(() => undefined);
      return p;
    };
    let next = ask();
    let used = 0;
    for (;;) {
      const item = (await next) as import('./worker/split-coordinator.js').SplitItem | null;
      if (item === null) {
        collectSoon();
        return;
      }
      next = ask();
      const table = decodeBlock(await tray.get(item.block));
      yield item.range === undefined ? table : table.slice(item.range[0], item.range[1]);
      // Done with it: this process's ref goes now, and its views (which pin the block's store
      // memory until V8 collects them) with a collection every few blocks, as the coordinator's.
      tray.experimental.release(item.block);
      if (++used % SPLIT_COLLECT_EVERY === 0) collectSoon();
    }
  }
}
