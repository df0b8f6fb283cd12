// The worker side of the all-to-all operations (Ray's map-reduce shuffles): a map task splits
// each block into one part per reducer (at random, or by key ranges from sampled boundaries);
// a reduce task joins its parts and shuffles, sorts, aggregates or maps groups. Also slicing
// blocks (repartition without shuffle, split) and zipping aligned blocks.
import type { RemoteFunction } from '@tray/core';
import { Table, type Vector } from 'apache-arrow';
import type { TaskOutput } from '../block.js';
import {
  type BatchFormat,
  concatTables,
  decodeBlock,
  encodeBlock,
  fromBatch,
  type Row,
  rowsToTable,
  toBatch,
  toRows,
} from '../block.js';
import { guarded, type Stage, takeIndices } from '../stages.js';
import { loadAggregateFn, type ShippedAggregateFn } from './aggregate-fn.js';
import { compareKeys, type KeyValue, keysOf, numericKey, seededRandom } from './keys.js';
import { groupByPart, numericPartition, radixOrder, shuffledOrder } from './order.js';

export type MapSpec =
  | { kind: 'random'; seed: number }
  | { kind: 'range'; key: string[]; boundaries: KeyValue[][]; descending: boolean }
  | { kind: 'even' };

export interface Aggregation {
  fn: 'count' | 'sum' | 'min' | 'max' | 'mean' | 'std';
  on?: string;
  ddof?: number;
}

export type ReduceSpec =
  | { kind: 'random'; seed: number }
  | { kind: 'sort'; key: string[]; descending: boolean }
  | { kind: 'aggregate'; key: string[]; aggs: (Aggregation | ShippedAggregateFn)[] }
  | { kind: 'mapGroups'; key: string[]; fn: RemoteFunction; batchFormat: BatchFormat; name: string }
  | { kind: 'concat' };

/** Splits one block into `n` parts; returns them as n returns. */
export function shuffleMap(
  block: Uint8Array,
  spec: MapSpec,
  n: number,
  blockIndex: number,
): Uint8Array | Uint8Array[] {
  const table = decodeBlock(block);
  let partOf: (row: number) => number;
  if (spec.kind === 'random') {
    const random = seededRandom(spec.seed * 1000003 + blockIndex);
    partOf = () => Math.floor(random() * n);
  } else if (spec.kind === 'even') {
    partOf = (i) => Math.floor((i * n) / table.numRows);
  } else {
    const fast = numericKey(table, spec.key);
    const bounds = numericBoundaries(spec.boundaries);
    if (fast !== undefined && bounds !== undefined) {
      partOf = (i) => numericPartition(fast[i]!, bounds, spec.descending);
    } else {
      const keys = keysOf(table, spec.key, 'sort');
      partOf = (i) => partitionOf(keys[i]!, spec.boundaries, spec.descending);
    }
  }
  const { rows, starts } = groupByPart(table.numRows, n, partOf);
  const out: Uint8Array[] = [];
  for (let p = 0; p < n; p++) {
    const part = rows.subarray(starts[p]!, starts[p + 1]!);
    out.push(encodeBlock(part.length === table.numRows ? table : takeIndices(table, part)));
  }
  return n === 1 ? out[0]! : out;
}

/** The boundaries of one numeric key as a Float64Array, if they are all numbers. */
function numericBoundaries(boundaries: KeyValue[][]): Float64Array | undefined {
  if (!boundaries.every((b) => b.length === 1 && typeof b[0] === 'number')) return undefined;
  return Float64Array.from(boundaries, (b) => b[0] as number);
}

/** The first partition whose upper boundary is above the key. */
function partitionOf(key: KeyValue[], boundaries: KeyValue[][], descending: boolean): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(key, boundaries[mid]!, descending) < 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A sample of the key values of one block (sort boundaries come from these). */
export function sampleKeys(block: Uint8Array, key: string[], k: number): KeyValue[][] {
  const table = decodeBlock(block);
  const n = table.numRows;
  const picks =
    n <= k
      ? Array.from({ length: n }, (_, i) => i)
      : Array.from({ length: k }, (_, i) => Math.floor(((i + 0.5) * n) / k));
  const fast = numericKey(table, key);
  if (fast !== undefined) return picks.map((i) => [fast[i]!]);
  const keys = keysOf(table, key, 'sort');
  return picks.map((i) => keys[i]!);
}

export async function shuffleReduce(
  spec: ReduceSpec,
  index: number,
  ...parts: Uint8Array[]
): Promise<TaskOutput> {
  const started = Date.now();
  const decoded = parts.map(decodeBlock);
  const table = concatTables(decoded);
  let out: Table;
  if (spec.kind === 'random') {
    out = takeIndices(table, shuffledOrder(table.numRows, seededRandom(spec.seed * 7919 + index + 1)));
  } else if (spec.kind === 'sort') {
    out = takeIndices(table, sortedOrder(table, spec.key, spec.descending));
  } else if (spec.kind === 'aggregate') {
    out = await aggregate(table, decoded, spec.key, spec.aggs);
  } else if (spec.kind === 'mapGroups') {
    out = await mapGroups(table, spec);
  } else {
    out = table;
  }
  const bytes = encodeBlock(out);
  return [bytes, { numRows: out.numRows, sizeBytes: bytes.byteLength, execMs: Date.now() - started }];
}

function sortedOrder(table: Table, key: string[], descending: boolean): ArrayLike<number> {
  const fast = numericKey(table, key);
  if (fast !== undefined) return radixOrder(fast, descending);
  const keys = keysOf(table, key, 'sort');
  const order = Array.from({ length: keys.length }, (_, i) => i);
  // Stable: equal keys keep their input order.
  return order.sort((a, b) => compareKeys(keys[a]!, keys[b]!, descending) || a - b);
}

/** Row indices of each group, groups in key order. */
function groups(table: Table, key: string[]): { key: KeyValue[]; rows: number[] }[] {
  const keys = keysOf(table, key, 'groupBy');
  const byKey = new Map<string, { key: KeyValue[]; rows: number[] }>();
  for (let i = 0; i < keys.length; i++) {
    const id = groupId(keys[i]!);
    let g = byKey.get(id);
    if (g === undefined) byKey.set(id, (g = { key: keys[i]!, rows: [] }));
    g.rows.push(i);
  }
  return [...byKey.values()].sort((a, b) => compareKeys(a.key, b.key, false));
}

async function aggregate(
  table: Table,
  parts: Table[],
  key: string[],
  aggs: (Aggregation | ShippedAggregateFn)[],
): Promise<Table> {
  const rows: Row[] = [];
  const columns = new Map<string, Vector>();
  for (const a of aggs) {
    if (!isUdf(a) && a.on !== undefined && !columns.has(a.on)) {
      const v = table.getChild(a.on);
      if (v === null)
        throw new Error(
          `groupBy: no column "${a.on}" to aggregate; the columns are ${table.schema.fields.map((f) => f.name).join(', ')}`,
        );
      columns.set(a.on, v);
    }
  }
  const udfs = new Map<ShippedAggregateFn, Map<string, unknown>>();
  for (const a of aggs) if (isUdf(a)) udfs.set(a, await udfResults(a, parts, key));
  for (const g of groups(table, key)) {
    const row: Row = {};
    key.forEach((k, i) => {
      row[k] = g.key[i];
    });
    for (const a of aggs) {
      if (isUdf(a)) row[a.name] = udfs.get(a)!.get(groupId(g.key));
      else row[aggName(a)] = aggregateOne(a, a.on === undefined ? undefined : columns.get(a.on)!, g.rows);
    }
    rows.push(row);
  }
  return rowsToTable(rows, table.schema, 'groupBy');
}

/** A user AggregateFn per group: accumulated per map part, the parts merged, then finalized. */
async function udfResults(
  a: ShippedAggregateFn,
  parts: Table[],
  key: string[],
): Promise<Map<string, unknown>> {
  const fn = await loadAggregateFn(a);
  const call = async <R>(what: string, f: () => R): Promise<R> => {
    try {
      return await f();
    } catch (error) {
      throw new Error(`AggregateFn(${a.name}): ${what} threw ${(error as Error)?.message ?? error}`, {
        cause: error,
      });
    }
  };
  const merged = new Map<string, unknown>();
  for (const part of parts) {
    if (part.numRows === 0) continue;
    const rows = toRows(part);
    for (const g of groups(part, key)) {
      let acc = await call('init', () => fn.init(g.key));
      for (const r of g.rows) acc = await call('accumulateRow', () => fn.accumulateRow(acc, rows[r]!));
      const id = groupId(g.key);
      merged.set(id, merged.has(id) ? await call('merge', () => fn.merge(merged.get(id), acc)) : acc);
    }
  }
  for (const [id, acc] of merged) merged.set(id, await call('finalize', () => fn.finalize(acc)));
  return merged;
}

function isUdf(a: Aggregation | ShippedAggregateFn): a is ShippedAggregateFn {
  return (a as ShippedAggregateFn).kind === 'udf';
}

function groupId(key: KeyValue[]): string {
  return JSON.stringify(key, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

export function aggName(a: Aggregation): string {
  return a.fn === 'count' ? 'count()' : `${a.fn}(${a.on})`;
}

function aggregateOne(a: Aggregation, column: Vector | undefined, rows: number[]): number | null {
  if (a.fn === 'count') return rows.length;
  const values: number[] = [];
  for (const r of rows) {
    const v = column!.get(r);
    if (v !== null && v !== undefined) values.push(Number(v));
  }
  if (values.length === 0) return null;
  switch (a.fn) {
    case 'sum':
      return values.reduce((s, v) => s + v, 0);
    case 'min':
      return values.reduce((m, v) => Math.min(v, m), values[0]!);
    case 'max':
      return values.reduce((m, v) => Math.max(v, m), values[0]!);
    case 'mean':
      return values.reduce((s, v) => s + v, 0) / values.length;
    case 'std': {
      const ddof = a.ddof ?? 1;
      if (values.length - ddof <= 0) return null;
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - ddof));
    }
  }
}

async function mapGroups(table: Table, spec: Extract<ReduceSpec, { kind: 'mapGroups' }>): Promise<Table> {
  const fn = (await spec.fn.local()) as (batch: unknown) => unknown;
  const stage: Stage = { kind: 'mapBatches', name: spec.name, batchFormat: spec.batchFormat };
  const outputs: Table[] = [];
  for (const g of groups(table, spec.key)) {
    const group = takeIndices(table, g.rows);
    const result = await guarded(stage, group, () => fn(toBatch(group, spec.batchFormat)));
    outputs.push(fromBatch(result, spec.batchFormat, group.schema, `${spec.name}: the function`));
  }
  return concatTables(outputs);
}

/** Rows [start, end) of each given block, joined into one block. */
export function sliceBlocks(ranges: [number, number][], ...blocks: Uint8Array[]): TaskOutput {
  const started = Date.now();
  const tables = blocks.map((b, i) => decodeBlock(b).slice(ranges[i]![0], ranges[i]![1]));
  const out = concatTables(tables);
  const bytes = encodeBlock(out);
  return [bytes, { numRows: out.numRows, sizeBytes: bytes.byteLength, execMs: Date.now() - started }];
}

/** The columns of `right` beside those of `left` (same row count; right's names win). */
export function zipBlocks(left: Uint8Array, right: Uint8Array): TaskOutput {
  const started = Date.now();
  const l = decodeBlock(left);
  const r = decodeBlock(right);
  const vectors: Record<string, Vector> = {};
  for (const f of l.schema.fields) vectors[f.name] = l.getChild(f.name)!;
  for (const f of r.schema.fields) vectors[f.name in vectors ? `${f.name}_1` : f.name] = r.getChild(f.name)!;
  const out = new Table(vectors);
  const bytes = encodeBlock(out);
  return [bytes, { numRows: out.numRows, sizeBytes: bytes.byteLength, execMs: Date.now() - started }];
}
