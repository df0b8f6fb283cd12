// Store memory held by views nobody can reach: a program that reads large objects and drops
// them must never see ObjectStoreFullError only because V8's collector has not run yet. The
// drivers here are real programs (started without --expose-gc, calling no gc()): when the
// store finds no room it has its clients collect their garbage and tries again.
import { resultOf, runScript } from '@tray/test-support';
import { describe, expect, it } from 'vitest';
import { writeDriverScript } from './helpers.js';

const MiB = 1024 * 1024;

describe('views that nobody can reach', () => {
  it('10x the store in 4 MiB objects, read back twice by the driver: every read succeeds, byte-correct', async () => {
    const file = writeDriverScript(`
      import * as tray from '@tray/core';
      const MiB = ${MiB};
      await tray.init({ numCpus: 1, objectStoreMemory: 64 * MiB, logToDriver: false });
      const refs = [];
      for (let i = 0; i < 160; i++) refs.push(await tray.put(new Uint8Array(4 * MiB).fill(i)));
      const failures = [];
      let correct = 0;
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i < refs.length; i++) {
          try {
            const value = await tray.get(refs[i]);
            const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
            if (bytes.equals(Buffer.alloc(4 * MiB, i))) correct++;
            else failures.push(pass + '/' + i + ': wrong bytes');
          } catch (err) {
            failures.push(pass + '/' + i + ': ' + err.name + ' ' + err.message);
          }
        }
      }
      console.log('RESULT ' + JSON.stringify({ correct, failures: failures.slice(0, 5), failed: failures.length }));
      await tray.shutdown();
    `);
    const run = await runScript(file, { timeoutMs: 180_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ correct: 320, failures: [], failed: 0 });
  });

  it('views dropped by workers are reclaimed too: tasks read 10x the store twice', async () => {
    const file = writeDriverScript(`
      import * as tray from '@tray/core';
      const MiB = ${MiB};
      await tray.init({ numCpus: 2, objectStoreMemory: 64 * MiB, logToDriver: false });
      const refs = [];
      for (let i = 0; i < 160; i++) refs.push(await tray.put(new Uint8Array(4 * MiB).fill(i)));
      // Each task gets its argument as a view of the store and drops it when it returns.
      const check = tray.remote((bytes, i) =>
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(Buffer.alloc(bytes.byteLength, i)) &&
        bytes.byteLength === 4 * 1024 * 1024,
      );
      const failures = [];
      let correct = 0;
      for (let pass = 0; pass < 2; pass++) {
        // Two at a time: both workers read while the other's dropped views still pin memory.
        for (let i = 0; i < refs.length; i += 2) {
          const results = await Promise.allSettled([i, i + 1].map((j) => tray.get(check.remote(refs[j], j))));
          results.forEach((r, k) => {
            if (r.status === 'fulfilled' && r.value === true) correct++;
            else failures.push(pass + '/' + (i + k) + ': ' + (r.status === 'fulfilled' ? 'wrong bytes' : r.reason.name + ' ' + r.reason.message));
          });
        }
      }
      console.log('RESULT ' + JSON.stringify({ correct, failures: failures.slice(0, 5), failed: failures.length }));
      await tray.shutdown();
    `);
    const run = await runScript(file, { timeoutMs: 180_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ correct: 320, failures: [], failed: 0 });
  });
});
