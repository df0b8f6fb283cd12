// Cutting blocks into batches: batch boundaries across record batches and blocks, the last
// partial batch, each format's values, nulls and strings, and a zero-copy 'columns' batch.
import { makeVector, Table, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { Batch, BatchFormat } from '../block.js';
import { Cutter } from './cut.js';

/** A block of rows [from, to) with an int32 id, a float64 x and a nullable string tag. */
function block(from: number, to: number, recordBatches = 1): Table {
  const parts: Table[] = [];
  for (let b = 0; b < recordBatches; b++) {
    const s = from + Math.floor(((to - from) * b) / recordBatches);
    const e = from + Math.floor(((to - from) * (b + 1)) / recordBatches);
    const ids = Int32Array.from({ length: e - s }, (_, i) => s + i);
    parts.push(
      new Table({
        id: makeVector(ids),
        x: makeVector(Float64Array.from(ids, (v) => v / 2)),
        tag: vectorFromArray(Array.from(ids, (v) => (v % 3 === 0 ? null : `t${v}`))),
      }),
    );
  }
  return parts.length === 1 ? parts[0]! : parts[0]!.concat(...parts.slice(1));
}

function cut(tables: Table[], size: number | null, format: BatchFormat, dropLast = false): Batch[] {
  const cutter = new Cutter(size, format, dropLast);
  const out: Batch[] = [];
  for (const t of tables) out.push(...cutter.push(t));
  out.push(...cutter.finish());
  return out;
}

function idsOf(batch: Batch, format: BatchFormat): number[] {
  if (format === 'rows') return (batch as { id: number }[]).map((r) => r.id);
  if (format === 'arrow') return Array.from((batch as Table).getChild('id')!.toArray() as Int32Array);
  return Array.from((batch as { id: Int32Array }).id);
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('Cutter', () => {
  for (const format of ['columns', 'rows', 'arrow'] as const) {
    it(`${format}: batches span record batches and blocks, in order, with the last one partial`, () => {
      // Blocks of 100, 37 (two record batches) and 250 rows; batches of 64.
      const tables = [block(0, 100), block(100, 137, 2), block(137, 387)];
      const batches = cut(tables, 64, format);
      expect(batches.map((b) => idsOf(b, format).length)).toEqual([64, 64, 64, 64, 64, 64, 3]);
      expect(batches.flatMap((b) => idsOf(b, format))).toEqual(expected(387));
      expect(cut(tables, 64, format, true).map((b) => idsOf(b, format).length)).toEqual([
        64, 64, 64, 64, 64, 64,
      ]);
    });
  }

  it('columns: numbers are typed arrays sharing the block buffer; strings and nulls are plain values', () => {
    const t = block(0, 10);
    const [first, second] = cut([t], 6, 'columns') as { id: Int32Array; x: Float64Array; tag: unknown[] }[];
    const buffer = (t.getChild('id')!.data[0]!.values as Int32Array).buffer;
    expect(first!.id).toBeInstanceOf(Int32Array);
    expect(first!.id.buffer).toBe(buffer);
    expect(Array.from(second!.x)).toEqual([3, 3.5, 4, 4.5]);
    expect(second!.tag).toEqual([null, 't7', 't8', null]);
  });

  it('rows: each row is a plain object with every column', () => {
    const rows = cut([block(0, 3), block(3, 5)], 4, 'rows') as Record<string, unknown>[][];
    expect(rows).toEqual([
      [
        { id: 0, x: 0, tag: null },
        { id: 1, x: 0.5, tag: 't1' },
        { id: 2, x: 1, tag: 't2' },
        { id: 3, x: 1.5, tag: null },
      ],
      [{ id: 4, x: 2, tag: 't4' }],
    ]);
  });

  it('arrow: a batch inside one block is a one-chunk table of the same schema', () => {
    const t = block(0, 1000, 3);
    const batches = cut([t], 256, 'arrow') as Table[];
    expect(batches.map((b) => b.numRows)).toEqual([256, 256, 256, 232]);
    for (const b of batches)
      expect(b.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(
        t.schema.fields.map((f) => `${f.name}:${f.type}`),
      );
    expect(batches[0]!.batches.length).toBe(1);
    expect(batches[1]!.getChild('tag')!.get(0)).toBe('t256');
  });

  it("arrow: a batch spanning blocks shares no block's buffers; one spanning a block's record batches does", () => {
    // Blocks 0 and 1 are two store views; a batch made of both would keep both pinned while
    // the caller holds it, after the executor counted them released.
    const buffersOf = (t: Table) => t.data.flatMap((d) => d.children.map((c) => c.values?.buffer));
    const a = block(0, 10);
    const b = block(10, 20, 2);
    const [first, second] = cut([a, b], 12, 'arrow') as Table[];
    expect(idsOf(first!, 'arrow')).toEqual(expected(12));
    expect(first!.getChild('tag')!.get(11)).toBe('t11');
    const blockBuffers = new Set([...buffersOf(a), ...buffersOf(b)]);
    expect(buffersOf(first!).filter((buf) => blockBuffers.has(buf))).toEqual([]);
    // The rest (rows 12–19, over b's two record batches) is joined without a copy.
    expect(idsOf(second!, 'arrow')).toEqual(expected(20).slice(12));
    expect(buffersOf(second!).every((buf) => buffersOf(b).includes(buf))).toBe(true);
  });

  it('batchSize null gives each block whole and skips empty blocks', () => {
    const batches = cut([block(0, 5), block(5, 5), block(5, 12)], null, 'columns');
    expect(batches.map((b) => idsOf(b, 'columns'))).toEqual([expected(5), expected(12).slice(5)]);
  });
});
