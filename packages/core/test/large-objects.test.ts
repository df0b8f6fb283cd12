// Arguments too large for the store, and objects of 2 GiB and more. A value that cannot fit
// fails on the ref it was given to (never as an unhandled rejection that kills the driver);
// one of 2 GiB + 4 KiB goes through the store to a task and back as Ray's would. The drivers
// are real programs: their exit code says whether they survived.
import { resultOf, runScript } from '@tray/test-support';
import { describe, expect, it } from 'vitest';
import { writeDriverScript } from './helpers.js';

describe('arguments larger than the store', () => {
  it('fail on the returned ref with ObjectStoreFullError naming both sizes; the driver lives on', async () => {
    const file = writeDriverScript(`
      import * as tray from '@tray/core';
      const MiB = 1024 * 1024;
      const unhandled = [];
      process.on('unhandledRejection', (err) => unhandled.push(String(err)));
      await tray.init({ numCpus: 1, objectStoreMemory: 64 * MiB, logToDriver: false });
      const length = tray.remote((a) => a.byteLength);
      const outcome = async (ref) => {
        try { return { value: await tray.get(ref) }; }
        catch (err) { return { name: err.name, message: err.message }; }
      };
      const task = await outcome(length.remote(new Uint8Array(100 * MiB)));
      const Holder = tray.remote(class Holder { length(a) { return a.byteLength; } });
      const call = await outcome(Holder.remote().length.remote(new Uint8Array(100 * MiB)));
      // Still alive, and the store still takes what fits. (A stray rejection of the failed
      // writes would have been reported before this round trip's reply was read.)
      const after = await tray.get(length.remote(new Uint8Array(8 * MiB)));
      console.log('RESULT ' + JSON.stringify({ task, call, after, unhandled }));
      await tray.shutdown();
    `);
    const run = await runScript(file, { timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    const result = resultOf(run) as Record<string, { name: string; message: string }>;
    for (const failed of [result.task!, result.call!]) {
      expect(failed.name).toBe('ObjectStoreFullError');
      expect(failed.message).toMatch(
        /104857\d+ bytes cannot fit in the node's object store \(67108864 bytes\)/,
      );
      expect(failed.message).toMatch(/objectStoreMemory/);
    }
    expect(result).toMatchObject({ after: 8 * 1024 * 1024, unhandled: [] });
  });
});

describe('objects of 2 GiB and more', () => {
  it('a 2 GiB + 4 KiB Uint8Array argument reaches its task whole', async () => {
    const file = writeDriverScript(`
      import * as tray from '@tray/core';
      const GiB = 1024 ** 3;
      await tray.init({ numCpus: 1, objectStoreMemory: 3 * GiB, logToDriver: false });
      // One byte per page, numbered, and the last byte: the task reports what it read.
      const digest = tray.remote((a) => {
        let sum = 0;
        for (let i = 0; i < a.length; i += 4096) sum += a[i];
        return { length: a.byteLength, sum, last: a[a.length - 1] };
      });
      let big = new Uint8Array(2 * GiB + 4096);
      let sum = 0;
      for (let i = 0; i < big.length; i += 4096) sum += big[i] = (i / 4096) % 251;
      big[big.length - 1] = 7;
      const ref = digest.remote(big);
      big = undefined;
      const got = await tray.get(ref);
      console.log('RESULT ' + JSON.stringify({ got, expected: { length: 2 * GiB + 4096, sum, last: 7 } }));
      await tray.shutdown();
    `);
    const run = await runScript(file, { timeoutMs: 240_000 });
    expect(run.code, run.stderr).toBe(0);
    const { got, expected } = resultOf(run) as { got: unknown; expected: unknown };
    expect(got).toEqual(expected);
    // The script gets 240 s (filling, copying and reading 2 GiB takes over a minute under load):
    // the test must not give up before it.
  }, 250_000);
});
