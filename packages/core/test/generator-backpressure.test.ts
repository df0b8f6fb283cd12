// Streaming-generator backpressure (generatorBackpressureNumObjects, Ray's
// _generator_backpressure_num_objects): a generator whose caller takes items slowly pauses
// once N of its items are untaken and goes on as they are taken. The producer writes how many
// items it has yielded to a file before each yield; after taking each item the caller waits
// until the producer got as far as it may, and checks it got no further.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { remoteSource, tmpdir } from './helpers.js';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir, 'tray-backpressure-'));
  await tray.init({ numCpus: 2 });
});

afterAll(async () => {
  await tray.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

// Records its yielded count (atomically, by rename) before each yield.
const producer = remoteSource<
  (file: string, n: number) => AsyncGenerator<number>
>(`async function* produce(file, n) {
  const fs = require('node:fs');
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(file + '.tmp', String(i + 1));
    fs.renameSync(file + '.tmp', file);
    yield i * 3;
  }
}`);

function yielded(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8'));
  } catch {
    return 0;
  }
}

describe('generatorBackpressureNumObjects', () => {
  for (const limit of [1, 2]) {
    it(`keeps at most ${limit} yielded items untaken, and the caller gets all of them in order`, async () => {
      const total = 10;
      const file = path.join(dir, `count-${limit}`);
      const produce = tray.remote(producer, {
        numReturns: 'streaming',
        generatorBackpressureNumObjects: limit,
      });
      const gen = produce.remote(file, total);
      const values: number[] = [];
      const aheadSeen: number[] = [];
      let taken = 0;
      const allowed = () => Math.min(total, taken + limit);
      // Before the first take, and after each: the producer reaches what it may, and stops there.
      for (;;) {
        await waitFor(() => yielded(file) >= allowed(), {
          what: `the producer to yield ${allowed()} items (${taken} taken)`,
          timeoutMs: 60_000,
        });
        aheadSeen.push(yielded(file) - taken);
        const next = await gen.next();
        if (next.done) break;
        taken++;
        values.push(await tray.get(next.value));
      }
      expect(values).toEqual(Array.from({ length: total }, (_, i) => i * 3));
      expect(Math.max(...aheadSeen)).toBeLessThanOrEqual(limit);
      expect(aheadSeen.slice(0, total - limit + 1).every((a) => a === limit)).toBe(true);
    });
  }

  it('runs to the end unpaused without the option, and refuses bad values', async () => {
    const file = path.join(dir, 'count-free');
    const produce = tray.remote(producer, { numReturns: 'streaming' });
    const gen = produce.remote(file, 6);
    await waitFor(() => yielded(file) === 6, {
      what: 'the producer to yield all 6 items',
      timeoutMs: 60_000,
    });
    const values: number[] = [];
    for await (const ref of gen) values.push(await tray.get(ref));
    expect(values).toEqual([0, 3, 6, 9, 12, 15]);
    expect(() => tray.remote(producer, { generatorBackpressureNumObjects: 0 } as never)).toThrow(
      /generatorBackpressureNumObjects must be a positive integer, got number 0/,
    );
    const notStreaming = tray.remote((x: number) => x, { generatorBackpressureNumObjects: 2 });
    expect(() => notStreaming.remote(1)).toThrow(/applies to generators; set numReturns: 'streaming'/);
  });
});
