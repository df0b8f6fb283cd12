// The code @tray/data's tasks and actors run, in worker processes. Workers import this module
// by file URL (dist/worker/tasks.js), once per process: every function here is shipped by
// reference (exec/remote.ts), so a task carries only its arguments. Each returns a block as
// Arrow IPC bytes (stored out of band in the object store) and its metadata, as two returns.
import type { ActorClass, RemoteFunction } from '@tray/core';
import type { Table } from 'apache-arrow';
import {
  type BlockMeta,
  concatTables,
  decodeBlock,
  encodeBlock,
  fromBatch,
  metaOf,
  type TaskOutput,
} from '../block.js';
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

async function loadStage(stage: Stage): Promise<LoadedFn | undefined> {
  return stage.fn === undefined ? undefined : ((await stage.fn.local()) as LoadedFn);
}

export function output(table: Table, started: number, source?: string): TaskOutput {
  const bytes = encodeBlock(table);
  const meta = metaOf(table, bytes, source);
  meta.execMs = Date.now() - started;
  return [bytes, meta];
}

/** A read task: the datasource's read function for one piece, then the fused stages. */
export async function runRead(
  read: RemoteFunction,
  args: unknown,
  stages: Stage[],
  source: string,
  index = 0,
): Promise<TaskOutput> {
  const started = Date.now();
  const fn = (await read.local()) as (args: unknown) => unknown;
  const produced = await fn(args);
  const tables: Table[] = [];
  if (
    produced !== null &&
    typeof produced === 'object' &&
    !Array.isArray(produced) &&
    (Symbol.asyncIterator in produced || isIterableOfBatches(produced))
  ) {
    for await (const part of produced as AsyncIterable<unknown>)
      tables.push(fromBatch(part, 'arrow', undefined, `the read of ${source}`));
  } else {
    tables.push(fromBatch(produced, 'arrow', undefined, `the read of ${source}`));
  }
  const table = await applyStages(concatTables(tables), stages, loadStage, index);
  return output(withSource(table, source), started, source);
}

function isIterableOfBatches(value: object): boolean {
  return Symbol.iterator in value && !('schema' in value);
}

/**
 * The streaming forms of the read and map tasks (numReturns 'streaming'): they yield block,
 * metadata, block, metadata... so an output above `maxBlockBytes` (Ray's 128 MiB target)
 * leaves the task as several blocks, each stored as soon as it is yielded.
 */
export async function* runReadStreaming(
  read: RemoteFunction,
  args: unknown,
  stages: Stage[],
  source: string,
  index: number,
  maxBlockBytes: number,
): AsyncGenerator<Uint8Array | BlockMeta> {
  const started = Date.now();
  const [bytes] = await runRead(read, args, stages, source, index);
  yield* split(decodeBlock(bytes), bytes, maxBlockBytes, started, source);
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
}

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
    const table = await mapBatches(decodeBlock(block), stage, (batch) => instance.call!(batch, ...extra));
    const [bytes, meta] = output(table, started);
    this.metas.set(seq, meta);
    return bytes;
  }

  meta(seq: number): BlockMeta | undefined {
    const meta = this.metas.get(seq);
    this.metas.delete(seq);
    return meta;
  }
}
