// Streaming file reads: CSV, JSON lines and text files are read a chunk at a time and leave the
// read task as blocks of DataContext.targetMaxBlockSize, so one file many blocks long becomes
// many blocks (counted here, with every row checked), and a text file larger than the object
// store streams through it. Real local cluster, real files written by the test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { StoreClient } from '@tray/object-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPeakStoreUse } from './store-peak.js';

const STORE = 32 * 1024 * 1024;
const TARGET = 256 * 1024;
let dir = '';
let store: StoreClient | undefined;
const ctx = data.DataContext.getCurrent();
const defaultTarget = ctx.targetMaxBlockSize;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tray-data-reads-'));
  await tray.init({ numCpus: 2, objectStoreMemory: STORE });
  const socket = await tray.get(tray.remote(() => process.env.TRAY_STORE_SOCKET ?? '').remote());
  store = await StoreClient.connect(socket);
  ctx.targetMaxBlockSize = TARGET;
});

afterAll(async () => {
  ctx.targetMaxBlockSize = defaultTarget;
  store?.close();
  await tray.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

async function blocksOf(ds: data.Dataset) {
  const blocks = await (await ds.materialize()).materializedBlocks();
  return blocks.map((b) => b.meta);
}

describe('one big file becomes many blocks of the target size', () => {
  const rows = 200_000;

  it('CSV', async () => {
    const file = path.join(dir, 'big.csv');
    const lines = ['id,half,word'];
    for (let i = 0; i < rows; i++) lines.push(`${i},${i / 2},w${i % 97}`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const metas = await blocksOf(data.readCsv(file));
    const bytes = metas.reduce((s, m) => s + m.sizeBytes, 0);
    expect(metas.reduce((s, m) => s + m.numRows, 0)).toBe(rows);
    expect(metas.length).toBeGreaterThanOrEqual(Math.ceil(bytes / TARGET));
    expect(metas.length).toBeGreaterThan(10);
    for (const m of metas) expect(m.sizeBytes).toBeLessThanOrEqual(TARGET * 1.1);
    // Every row, once, with its column types kept across chunks (id stays an integer column).
    const ids = new Float64Array(rows).fill(-1);
    let halves = 0;
    for await (const batch of data.readCsv(file).iterBatches({ batchSize: 10_000 })) {
      const b = batch as data.Columns;
      expect(b.id).toBeInstanceOf(Int32Array);
      const id = b.id as Int32Array;
      for (let i = 0; i < id.length; i++) ids[id[i]!] = id[i]!;
      halves += (b.half as Float64Array).reduce((s, v) => s + v, 0);
    }
    expect(ids.every((v, i) => v === i)).toBe(true);
    expect(halves).toBe((rows * (rows - 1)) / 4);
  });

  it('JSON lines and text', async () => {
    const jsonl = path.join(dir, 'big.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < rows; i++) lines.push(JSON.stringify({ id: i, tag: `t${i % 13}` }));
    writeFileSync(jsonl, `${lines.join('\n')}\n`);
    const jsonMetas = await blocksOf(data.readJson(jsonl));
    expect(jsonMetas.reduce((s, m) => s + m.numRows, 0)).toBe(rows);
    expect(jsonMetas.length).toBeGreaterThan(10);
    for (const m of jsonMetas) expect(m.sizeBytes).toBeLessThanOrEqual(TARGET * 1.1);
    const sum = (await data.readJson(jsonl).takeAll()).reduce((s, r) => s + (r.id as number), 0);
    expect(sum).toBe((rows * (rows - 1)) / 2);

    const textMetas = await blocksOf(data.readText(jsonl));
    expect(textMetas.reduce((s, m) => s + m.numRows, 0)).toBe(rows);
    expect(textMetas.length).toBeGreaterThan(10);
    const text = await data.readText(jsonl).take(3);
    expect(text.map((r) => r.text)).toEqual(lines.slice(0, 3));
  });
});

it('a text file twice the object store streams through it, in blocks, without spilling', {
  timeout: 300_000,
}, async () => {
  const file = path.join(dir, 'huge.txt');
  const line = 'x'.repeat(1023);
  const count = (2 * STORE) / 1024;
  writeFileSync(file, `${Array.from({ length: count }, () => line).join('\n')}\n`);
  let rows = 0;
  let batches = 0;
  const { peak } = await withPeakStoreUse(store!, async () => {
    for await (const batch of data.readText(file).iterBatches({ batchSize: null, batchFormat: 'arrow' })) {
      rows += (batch as import('apache-arrow').Table).numRows;
      // Store objects are freed when the driver's refs are collected: collect every few blocks.
      if (++batches % 8 === 0) globalThis.gc?.();
    }
  });
  console.log(
    `text ${(2 * STORE) / 2 ** 20} MiB in ${batches} blocks; peak store use ${(peak / 2 ** 20).toFixed(1)} MiB of ${STORE / 2 ** 20} MiB`,
  );
  expect(rows).toBe(count);
  expect(batches).toBeGreaterThanOrEqual((2 * STORE) / TARGET);
  expect(peak).toBeLessThan(STORE);
  expect((await store!.stats()).spilledObjects).toBe(0);
});
