// The code @tray/data's tasks and actors run, in worker processes. Workers import this module
// by file URL (dist/worker/tasks.js), once per process: every function here is shipped by
// reference (exec/remote.ts), so a task carries only its arguments. Each returns a block as
// Arrow IPC bytes (stored out of band in the object store) and its metadata, as two returns.
import type { ActorClass, RemoteFunction } from '@tray/core';
import type { Data, Table } from 'apache-arrow';
import {
  type BlockMeta,
  concatTables,
  decodeBlock,
  encodeBlock,
  fromBatch,
  metaOf,
  type TaskOutput,
} from '../block.js';
import { ReleaseCollector } from '../exec/collect.js';
import { withSource } from '../schema.js';
import { type ActorStage, applyStages, type LoadedFn, mapBatches, type Stage } from '../stages.js';

export type { TaskOutput } from '../block.js';
export { sampleKeys, shuffleMap, shuffleReduce, sliceBlocks, zipBlocks } from '../shuffle/tasks.js';
export { writeCsvBlock, writeJsonBlock, writeParquetBlock } from '../sinks/files.js';
export { readBinaryPiece } from '../sources/binary.js';
export { readCsvPiece } from '../sources/csv.js';
export { readJsonPiece } from '../sources/json.js';
export { readParquetPiece } from '../sources/parquet.js';
export { readRangePiece } from '../sources/range.js';
export { readTextPiece } from '../sources/text.js';
export { SplitCoordinator, type SplitItem } from './split-coordinator.js';

async function loadStage(stage: Stage): Promise<LoadedFn | undefined> {
  return stage.fn === undefined ? undefined : ((await stage.fn.local()) as LoadedFn);
}

export function output(table: Table, started: number, source?: string): TaskOutput {
  const bytes = encodeBlock(table);
  const meta = metaOf(table, bytes, source);
  meta.execMs = Date.now() - started;
  return [bytes, meta];
}

/**
 * A read task (numReturns 'streaming'): the datasource's read function for one piece, then the
 * fused stages. What the read returns may be one batch or an (async) iterable of them (the
 * built-in CSV, JSON lines and text readers yield a batch per chunk of the file): batches are
 * gathered up to `maxBlockBytes` (Ray's 128 MiB target), and each such block goes through the
 * stages and leaves the task as soon as it is full, so a file larger than the store streams.
 * Yields block, metadata, block, metadata...
 */
export async function* runReadStreaming(
  read: RemoteFunction,
  args: unknown,
  stages: Stage[],
  source: string,
  index: number,
  maxBlockBytes: number,
): AsyncGenerator<Uint8Array | BlockMeta> {
  let started = Date.now();
  const fn = (await read.local()) as (args: unknown) => unknown;
  const produced = await fn(args);
  let part = 0;
  let buffered: Table[] = [];
  let bytes = 0;
  const flush = async function* () {
    const table = await applyStages(concatTables(buffered), stages, loadStage, index, part++);
    buffered = [];
    bytes = 0;
    const out = withSource(table, source);
    yield* split(out, encodeBlock(out), maxBlockBytes, started, source);
    started = Date.now();
  };
  const where = `the read of ${source}`;
  if (
    produced !== null &&
    typeof produced === 'object' &&
    !Array.isArray(produced) &&
    (Symbol.asyncIterator in produced || isIterableOfBatches(produced))
  ) {
    for await (const piece of produced as AsyncIterable<unknown>) {
      const table = fromBatch(piece, 'arrow', buffered[0]?.schema, where);
      buffered.push(table);
      bytes += tableBytes(table);
      if (bytes >= maxBlockBytes) yield* flush();
    }
    if (buffered.length > 0 || part === 0) yield* flush();
  } else {
    buffered.push(fromBatch(produced, 'arrow', undefined, where));
    yield* flush();
  }
}

function isIterableOfBatches(value: object): boolean {
  return Symbol.iterator in value && !('schema' in value);
}

/** The bytes of a table's column buffers (about its Arrow IPC size, without encoding it). */
function tableBytes(table: Table): number {
  let total = 0;
  const add = (d: Data): void => {
    total +=
      (d.values?.byteLength ?? 0) + (d.valueOffsets?.byteLength ?? 0) + (d.nullBitmap?.byteLength ?? 0);
    for (const c of d.children) add(c);
  };
  for (const batch of table.batches) add(batch.data);
  return total;
}

export async function* runMapStreaming(
  block: Uint8Array,
  stages: Stage[],
  index: number,
  maxBlockBytes: number,
): AsyncGenerator<Uint8Array | BlockMeta> {
  const started = Date.now();
  const table = await applyStages(decodeBlock(block), stages, loadStage, index);
  yield* split(table, encodeBlock(table), maxBlockBytes, started);
  // The input is a zero-copy view of the store: it pins the block until V8 collects the view,
  // and a busy worker's small heap gives V8 no reason to (core collects only idle workers).
  inputsUsed.released(block.byteLength);
}

/**
 * A map task's worker collects its heap once INPUT_COLLECT_BYTES of input blocks were used since
 * the last time (after every task for blocks of 1 MiB or more), so the blocks the driver let go
 * of leave the store while the pipeline runs: without it a 3-operator pipeline at a 16 MiB
 * budget held 25-30 MiB of store, mostly map inputs pinned in busy workers.
 */
const INPUT_COLLECT_BYTES = 1024 * 1024;
const inputsUsed = new ReleaseCollector(INPUT_COLLECT_BYTES);

function* split(table: Table, bytes: Uint8Array, maxBlockBytes: number, started: number, source?: string) {
  const parts = Math.max(1, Math.ceil(bytes.byteLength / maxBlockBytes));
  if (parts === 1 || table.numRows < 2) {
    const meta = metaOf(table, bytes, source);
    meta.execMs = Date.now() - started;
    yield bytes;
    yield meta;
    return;
  }
  const rows = Math.ceil(table.numRows / parts);
  for (let start = 0; start < table.numRows; start += rows) {
    const [partBytes, meta] = output(table.slice(start, start + rows), started, source);
    yield partBytes;
    yield meta;
  }
}

/** A map task: one block through the fused stages. */
export async function runMap(block: Uint8Array, stages: Stage[], index = 0): Promise<TaskOutput> {
  const started = Date.now();
  const table = await applyStages(decodeBlock(block), stages, loadStage, index);
  return output(table, started);
}

/**
 * The actor of a mapBatches over a class: constructs the user's class once (a model loaded
 * once per actor), then maps blocks with its `call(batch)`. Metadata of each call is kept by
 * sequence number for the driver's next `meta(seq)` call (calls from one caller run in order).
 */
export class MapBatchesActor {
  private instance: { call?: (batch: unknown, ...args: unknown[]) => unknown } | undefined;
  private readonly metas = new Map<number, BlockMeta>();

  async init(cls: ActorClass, args: unknown[]): Promise<true> {
    const Cls = (await cls.local()) as unknown as new (
      ...a: unknown[]
    ) => { call?: (batch: unknown) => unknown };
    this.instance = new Cls(...args);
    if (typeof this.instance.call !== 'function') {
      throw new TypeError(`${cls.name}: a class given to mapBatches needs a call(batch) method`);
    }
    return true;
  }

  async map(block: Uint8Array, stage: ActorStage, seq: number): Promise<Uint8Array> {
    const started = Date.now();
    const instance = this.instance!;
    const extra = stage.fnArgs ?? [];
    const input = stage.before?.length
      ? await applyStages(decodeBlock(block), stage.before, loadStage, seq)
      : decodeBlock(block);
    const table = await mapBatches(input, stage, (batch) => instance.call!(batch, ...extra));
    const [bytes, meta] = output(table, started);
    this.metas.set(seq, meta);
    // As a map task's worker does: the input view pins its block until V8 collects it, and a
    // busy actor is not collected by core's idle collector.
    inputsUsed.released(block.byteLength);
    return bytes;
  }

  meta(seq: number): BlockMeta | undefined {
    const meta = this.metas.get(seq);
    this.metas.delete(seq);
    return meta;
  }
}
