// The driver side of the all-to-all operations: given every block of the input, submit the
// map-reduce tasks of shuffle/tasks.ts and return the output blocks. Sort and groupBy sample
// keys to pick range boundaries, so output block i holds keys below those of block i + 1.
import * as tray from '@tray/core';
import type { BlockMeta } from '../block.js';
import { dropBlock } from '../exec/execution.js';
import type { BlockRef } from '../exec/plan.js';
import { remoteTask } from '../exec/remote.js';
import { totalRows } from '../options.js';
import { compareKeys, type KeyValue } from './keys.js';
import type { MapSpec, ReduceSpec } from './tasks.js';

type Pair = [tray.ObjectRef<Uint8Array>, tray.ObjectRef<BlockMeta>];

async function collect(pairs: Pair[], operator: string): Promise<BlockRef[]> {
  const metas = await tray.get(pairs.map((p) => p[1]));
  void operator;
  return pairs.map((p, i) => ({ block: p[0], meta: metas[i]! }));
}

/**
 * Map every block into n parts, then reduce part i of every block into output block i. Takes
 * the input over: its blocks are released and the array emptied once the map tasks hold them.
 */
export async function mapReduce(
  input: BlockRef[],
  n: number,
  map: MapSpec,
  reduce: ReduceSpec,
  name: string,
): Promise<BlockRef[]> {
  if (input.length === 0) return [];
  const mapTask = remoteTask('shuffleMap').options({ numReturns: n === 1 ? 1 : n, name: `${name}Map` });
  const parts = input.map((b, i) => {
    const out = mapTask.remote(b.block, map, n, i) as unknown;
    return (n === 1 ? [out] : out) as tray.ObjectRef<Uint8Array>[];
  });
  // The driver lets go of each stage's blocks as soon as the next stage's tasks hold them: an
  // input block is freed when its map task ends, a map part when its reducer ends, instead of
  // all of them staying in the store until the driver's refs are collected.
  for (const b of input) dropBlock(b);
  input.length = 0;
  const reduceTask = remoteTask('shuffleReduce').options({ numReturns: 2, name: `${name}Reduce` });
  const pairs: Pair[] = [];
  for (let r = 0; r < n; r++) {
    pairs.push(reduceTask.remote(reduce, r, ...parts.map((p) => p[r]!)) as unknown as Pair);
    // Submitted: the reducer holds its parts until it ran.
    for (const p of parts) {
      tray.experimental.release(p[r]!);
      p[r] = undefined as never;
    }
  }
  parts.length = 0;
  return collect(pairs, name);
}

/** n - 1 boundaries splitting the sampled keys into n ranges. */
export async function boundaries(
  input: BlockRef[],
  key: string[],
  n: number,
  descending: boolean,
): Promise<KeyValue[][]> {
  const sample = remoteTask('sampleKeys').options({ name: 'SortSample' });
  const samples = (await tray.get(input.map((b) => sample.remote(b.block, key, 20)))) as KeyValue[][][];
  // NaN keys sort last in every part (shuffle/order.ts), so they make no boundary.
  const all = samples
    .flat()
    .filter((k) => !k.some((v) => Number.isNaN(v)))
    .sort((a, b) => compareKeys(a, b, descending));
  const out: KeyValue[][] = [];
  for (let i = 1; i < n; i++) {
    if (all.length === 0) break;
    out.push(all[Math.min(all.length - 1, Math.floor((i * all.length) / n))]!);
  }
  return out;
}

/** Output blocks of the given row counts, cut from the input's rows in order (no shuffle). */
export async function reblock(input: BlockRef[], sizes: number[]): Promise<BlockRef[]> {
  const task = remoteTask('sliceBlocks').options({ numReturns: 2, name: 'Repartition' });
  const pairs: Pair[] = [];
  let blockIndex = 0;
  let offset = 0;
  for (const size of sizes) {
    const ranges: [number, number][] = [];
    const blocks: tray.ObjectRef<Uint8Array>[] = [];
    let need = size;
    while (need > 0 && blockIndex < input.length) {
      const rows = input[blockIndex]!.meta.numRows;
      const take = Math.min(need, rows - offset);
      if (take > 0) {
        ranges.push([offset, offset + take]);
        blocks.push(input[blockIndex]!.block);
      }
      need -= take;
      offset += take;
      if (offset >= rows) {
        blockIndex++;
        offset = 0;
      }
    }
    pairs.push(task.remote(ranges, ...blocks) as unknown as Pair);
  }
  return collect(pairs, 'Repartition');
}

/** Blocks of `left` with the rows of `right` side by side (equal row counts; a clash gets "_1"). */
export async function zipBlocks(left: BlockRef[], right: BlockRef[]): Promise<BlockRef[]> {
  const total = totalRows(left);
  if (totalRows(right) !== total) {
    throw new Error(
      `zip: the datasets have ${total} and ${totalRows(right)} rows; zip needs equal row counts`,
    );
  }
  const aligned = await reblock(
    right,
    left.map((b) => b.meta.numRows),
  );
  const task = remoteTask('zipBlocks').options({ numReturns: 2, name: 'Zip' });
  return collect(
    left.map((b, i) => task.remote(b.block, aligned[i]!.block) as unknown as Pair),
    'Zip',
  );
}

/** n near-equal row counts summing to total. */
export function evenSizes(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(((i + 1) * total) / n) - Math.floor((i * total) / n));
}
