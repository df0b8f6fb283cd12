// Several read tasks per large CSV or JSON-lines file: a file larger than the target block size
// is read as byte ranges cut at line ends (each block's source names its range), giving the same
// rows in the same order as one task; a CSV with a newline inside a quoted field stays one task.
// Also a CSV column that is empty for a whole chunk and numeric later reads (it was a schema
// mismatch). Real local cluster, real files written by the test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SMALL = 256 * 1024;
let dir = '';
const ctx = data.DataContext.getCurrent();
const defaultTarget = ctx.targetMaxBlockSize;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tray-data-ranges-'));
  await tray.init({ numCpus: 2, objectStoreMemory: 128 * 1024 * 1024 });
});

afterAll(async () => {
  ctx.targetMaxBlockSize = defaultTarget;
  await tray.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** The rows and the blocks' sources of a read planned with `target` as the block size. */
async function read(make: () => data.Dataset, target: number) {
  ctx.targetMaxBlockSize = target;
  try {
    const ds = await make().materialize();
    const sources = (await ds.materializedBlocks()).map((b) => b.meta.source ?? '');
    return { rows: await ds.takeAll(), sources };
  } finally {
    ctx.targetMaxBlockSize = defaultTarget;
  }
}

const ranges = (sources: string[]) => new Set(sources.filter((s) => s.includes('(bytes ')));

describe('byte-range reads of a large file', () => {
  it('CSV: ranges give the same rows in the same order as one task, quoted commas included', async () => {
    const file = path.join(dir, 'big.csv');
    const lines = ['id,half,word,late'];
    // `late` is empty for the first 60,000 rows (several 1 MiB chunks), then numbers.
    for (let i = 0; i < 100_000; i++)
      lines.push(`${i},${i / 2},${i % 10 === 0 ? `"w, ${i}"` : `w${i % 97}`},${i < 60_000 ? '' : i * 0.25}`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const whole = await read(() => data.readCsv(file), 1024 * 1024 * 1024);
    expect(whole.sources.every((s) => s === file)).toBe(true);
    const split = await read(() => data.readCsv(file), SMALL);
    expect(ranges(split.sources).size).toBeGreaterThan(4);
    expect(split.rows.length).toBe(100_000);
    expect(split.rows).toEqual(whole.rows);
    expect(whole.rows[10]).toEqual({ id: 10, half: 5, word: 'w, 10', late: null });
    expect(whole.rows[60_001]).toEqual({ id: 60_001, half: 30_000.5, word: 'w55', late: 15_000.25 });
  });

  it('CSV: a newline inside a quoted field keeps the file one task, with the same rows', async () => {
    const file = path.join(dir, 'quoted.csv');
    const lines = ['id,note'];
    for (let i = 0; i < 40_000; i++) lines.push(i === 39_000 ? `${i},"two\nlines"` : `${i},n${i}`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const split = await read(() => data.readCsv(file), 64 * 1024);
    expect(ranges(split.sources).size).toBe(0);
    expect(split.rows.length).toBe(40_000);
    expect(split.rows[39_000]).toEqual({ id: 39_000, note: 'two\nlines' });
    expect(split.rows.map((r) => r.id)).toEqual([...Array(40_000).keys()]);
  });

  it('JSON lines: ranges give the same rows in the same order as one task', async () => {
    const file = path.join(dir, 'big.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) lines.push(JSON.stringify({ id: i, text: `line ${i}`, x: i * 1.5 }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const whole = await read(() => data.readJson(file), 1024 * 1024 * 1024);
    const split = await read(() => data.readJson(file), SMALL);
    expect(ranges(whole.sources).size).toBe(0);
    expect(ranges(split.sources).size).toBeGreaterThan(4);
    expect(split.rows).toEqual(whole.rows);
    expect(split.rows[49_999]).toEqual({ id: 49_999, text: 'line 49999', x: 74_998.5 });
  });
});
