// SharedFile between two real processes: what the creator writes, a child process that opens the
// same path reads, and what the child writes the creator sees (one MAP_SHARED mapping of one
// file); unlink removes the name while both mappings stay; close detaches the views; bad sizes
// and windows past the end are refused with what was wrong. No file is left behind.
import { execFile } from 'node:child_process';
import { existsSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { SharedFile, sharedFileDir } from '../src/index.js';

const DIST = pathToFileURL(path.join(import.meta.dirname, '..', 'dist', 'index.js')).href;
const file = path.join(sharedFileDir(1 << 20), `tray-sharedfile-test-${process.pid}`);

afterAll(() => {
  try {
    unlinkSync(file);
  } catch {}
});

function child(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { timeout: 60_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim()),
    );
  });
}

it('two processes share one mapping of the file, and unlink leaves the mappings working', async () => {
  const bytes = 1 << 20;
  const shared = SharedFile.create(file, bytes);
  const whole = new Uint8Array(shared.window(0, bytes));
  for (let i = 0; i < 4096; i++) whole[4096 + i] = i % 251;
  const out = await child(`
    const { SharedFile } = await import(${JSON.stringify(DIST)});
    const f = SharedFile.open(${JSON.stringify(file)}, ${bytes});
    const v = new Uint8Array(f.window(4096, 4096));
    let sum = 0;
    for (const b of v) sum += b;
    new Uint8Array(f.window(0, 16)).fill(7);
    f.close();
    console.log(sum);
  `);
  let expected = 0;
  for (let i = 0; i < 4096; i++) expected += i % 251;
  expect(Number(out)).toBe(expected);
  expect(Array.from(whole.subarray(0, 16))).toEqual(new Array(16).fill(7));
  expect(() => SharedFile.create(file, bytes)).toThrow(/EEXIST/);
  shared.unlink();
  expect(existsSync(file)).toBe(false);
  whole[0] = 9;
  expect(whole[0]).toBe(9);
  shared.close();
  expect(whole.byteLength).toBe(0);
  expect(() => shared.window(0, 1)).toThrow(/is closed/);
});

it('bad sizes and windows past the end are refused, naming what was wrong', () => {
  expect(() => SharedFile.create(file, 0)).toThrow(/positive integer of bytes, got 0/);
  const f = SharedFile.create(file, 8192);
  try {
    expect(() => f.window(4096, 8192)).toThrow(/past the end .* \(8192 bytes\)/);
    expect(() => f.window(-1, 1)).toThrow(/integers >= 0/);
  } finally {
    f.unlink();
    f.close();
  }
  expect(existsSync(file)).toBe(false);
});

it('windows over memory written before, whole chunks and parts of them, write through to the file', async () => {
  const MiB = 1 << 20;
  const bytes = 8 * MiB;
  const f = SharedFile.create(file, bytes);
  try {
    // A large window, then one over part of it (starting mid-chunk), then the first again:
    // the later ones find their chunks populated by an earlier window, or only partly.
    new Uint8Array(f.window(0, 6 * MiB)).fill(1);
    new Uint8Array(f.window(3 * MiB + 100, 4 * MiB)).fill(2);
    new Uint8Array(f.window(0, 6 * MiB)).subarray(0, MiB).fill(3);
    const out = await child(`
      const { SharedFile } = await import(${JSON.stringify(DIST)});
      const f = SharedFile.open(${JSON.stringify(file)}, ${bytes});
      const v = new Uint8Array(f.window(0, ${bytes}));
      const counts = [0, 0, 0, 0];
      for (const b of v) counts[b]++;
      f.close();
      console.log(JSON.stringify(counts));
    `);
    const twos = 4 * MiB;
    const threes = MiB;
    const ones = 3 * MiB + 100 - threes;
    expect(JSON.parse(out)).toEqual([bytes - ones - twos - threes, ones, twos, threes]);
  } finally {
    f.unlink();
    f.close();
  }
  expect(existsSync(file)).toBe(false);
});
