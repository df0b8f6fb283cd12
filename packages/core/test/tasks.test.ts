// Tasks end to end on one local cluster: results, async functions, several returns, streaming
// generators, tasks submitting tasks, ref arguments, and the errors a task can end with.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tray from '../src/index.js';
import { remoteSource } from './helpers.js';

beforeAll(async () => {
  await tray.init({ numCpus: 2, numGpus: 2, resources: { custom: 1 } });
});

afterAll(async () => {
  await tray.shutdown();
});

describe('tasks', () => {
  it('runs four squares', async () => {
    const square = tray.remote((x: number) => x * x);
    const refs = [0, 1, 2, 3].map((i) => square.remote(i));
    expect(await tray.get(refs)).toEqual([0, 1, 4, 9]);
  });

  it('awaits async functions', async () => {
    const slowDouble = tray.remote(async (x: number) => {
      await new Promise((r) => setTimeout(r, 10));
      return x * 2;
    });
    expect(await tray.get(slowDouble.remote(21))).toBe(42);
  });

  it('splits numReturns results into refs', async () => {
    const pair = tray.remote((x: number) => [x, x + 1], { numReturns: 2 });
    const [a, b] = pair.remote(5);
    expect(await tray.get(a!)).toBe(5);
    expect(await tray.get(b!)).toBe(6);
    const wrong = tray.remote((x: number) => x).options({ numReturns: 2 });
    const refs = wrong.remote(1);
    await expect(tray.get(refs[0]!)).rejects.toThrow(/must return an array of 2 values/);
  });

  it('streams the items of an async generator in yield order', async () => {
    const count = tray.remote(
      async function* countTo(n: number) {
        for (let i = 0; i < n; i++) yield i * 10;
      },
      { numReturns: 'streaming' },
    );
    const seen: number[] = [];
    for await (const ref of count.remote(4)) seen.push(await tray.get(ref));
    expect(seen).toEqual([0, 10, 20, 30]);
  });

  it('ends a failing generator with a ref whose get throws the error', async () => {
    const failing = tray.remote(
      async function* twoThenFail() {
        yield 1;
        yield 2;
        throw new RangeError('generator broke');
      },
      { numReturns: 'streaming' },
    );
    const values: unknown[] = [];
    for await (const ref of failing.remote()) {
      values.push(await tray.get(ref).catch((e: Error) => e));
    }
    expect(values.slice(0, 2)).toEqual([1, 2]);
    expect(values).toHaveLength(3);
    expect(values[2]).toBeInstanceOf(tray.TaskError);
    expect(values[2]).toBeInstanceOf(RangeError);
  });

  it('runs tasks that submit tasks on 2 CPUs without deadlock', async () => {
    const leaf = tray.remote((x: number) => x + 1);
    const parent = tray.remote(
      remoteSource<(x: number) => Promise<number>>(`async (x) => {
        const values = await tray.get([leaf.remote(x), leaf.remote(x * 10)]);
        return values[0] + values[1];
      }`),
      { captures: { leaf } },
    );
    const results = await tray.get([1, 2, 3, 4].map((x) => parent.remote(x)));
    expect(results).toEqual([1 + 1 + 11, 3 + 21, 4 + 31, 5 + 41]);
  });

  it('resolves top-level ref arguments and passes nested ones as refs', async () => {
    const ref = await tray.put(7);
    const inspect = tray.remote((top: unknown, nested: { r: unknown }) => ({
      top,
      nestedIsRef: nested.r instanceof Object && typeof (nested.r as { hex?: unknown }).hex === 'function',
    }));
    const out = await tray.get(inspect.remote(ref, { r: ref }));
    expect(out).toEqual({ top: 7, nestedIsRef: true });
    const deref = tray.remote(
      remoteSource<(nested: { r: tray.ObjectRef<number> }) => Promise<number>>(
        'async (nested) => (await tray.get(nested.r)) + 1',
      ),
    );
    expect(await tray.get(deref.remote({ r: ref }))).toBe(8);
  });

  it('chains results: a ref returned by one task feeds the next', async () => {
    const inc = tray.remote((x: number) => x + 1);
    let ref = inc.remote(0);
    for (let i = 0; i < 5; i++) ref = inc.remote(ref);
    expect(await tray.get(ref)).toBe(6);
  });
});

describe('task errors', () => {
  class NotGlobal extends Error {}

  it('rejects with a TaskError that is also the original class, with cause and remote stack', async () => {
    const boom = tray.remote(function boom(x: number) {
      throw new RangeError(`bad ${x}`);
    });
    const err = await tray.get(boom.remote(3)).catch((e) => e);
    expect(err).toBeInstanceOf(tray.TaskError);
    expect(err).toBeInstanceOf(tray.TrayError);
    expect(err).toBeInstanceOf(RangeError);
    expect(err.cause).toBeInstanceOf(RangeError);
    expect(err.cause.message).toBe('bad 3');
    expect(err.functionName).toBe('boom');
    expect(err.remoteStack).toMatch(/bad 3/);
    expect(err.message).toMatch(/boom/);
    expect(NotGlobal).toBeDefined();
  });

  it('keeps custom error fields and non-error throws', async () => {
    const coded = tray.remote(() => {
      const e = new Error('with code') as Error & { code: string };
      e.code = 'E_CUSTOM';
      throw e;
    });
    const err = await tray.get(coded.remote()).catch((e) => e);
    expect(err.cause.code).toBe('E_CUSTOM');
    expect(err.code).toBe('E_CUSTOM');
    const str = tray.remote(() => {
      throw 'just a string';
    });
    const err2 = await tray.get(str.remote()).catch((e) => e);
    expect(err2).toBeInstanceOf(tray.TaskError);
    expect(err2.cause).toBe('just a string');
  });

  it('fails a downstream task with the upstream error', async () => {
    const fail = tray.remote(() => {
      throw new TypeError('upstream broke');
    });
    const use = tray.remote((x: unknown) => x);
    const err: any = await tray.get(use.remote(fail.remote())).catch((e) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.cause.message).toBe('upstream broke');
  });

  it('retries exceptions only when asked', async () => {
    const counter = await tray.put(0);
    expect(counter).toBeDefined();
    const flaky = tray.remote(
      (marker: string) => {
        const fs = require('node:fs');
        const n = fs.existsSync(marker) ? Number(fs.readFileSync(marker, 'utf8')) : 0;
        fs.writeFileSync(marker, String(n + 1));
        if (n < 2) throw new Error(`attempt ${n}`);
        return n;
      },
      { maxRetries: 3 },
    );
    const os = await import('node:os');
    const path = await import('node:path');
    const m1 = path.join(os.tmpdir(), `tray-flaky-${process.pid}-1`);
    const m2 = path.join(os.tmpdir(), `tray-flaky-${process.pid}-2`);
    const m3 = path.join(os.tmpdir(), `tray-flaky-${process.pid}-3`);
    await expect(tray.get(flaky.remote(m1))).rejects.toThrow(/attempt 0/);
    expect(await tray.get(flaky.options({ retryExceptions: true }).remote(m2))).toBe(2);
    await expect(tray.get(flaky.options({ retryExceptions: ['TypeError'] }).remote(m3))).rejects.toThrow(
      /attempt 0/,
    );
    const fs = await import('node:fs');
    for (const m of [m1, m2, m3]) fs.rmSync(m, { force: true });
  });

  it('gives WorkerCrashedError when the worker dies and no retries are left', async () => {
    const die = tray.remote(() => process.exit(3), { maxRetries: 0 });
    await expect(tray.get(die.remote())).rejects.toBeInstanceOf(tray.WorkerCrashedError);
  });

  it('survives a worker exiting mid-task with maxRetries: 1', async () => {
    const os = await import('node:os');
    const path = await import('node:path');
    const marker = path.join(os.tmpdir(), `tray-crash-once-${process.pid}`);
    const once = tray.remote(
      (m: string) => {
        const fs = require('node:fs');
        if (!fs.existsSync(m)) {
          fs.writeFileSync(m, 'crashed');
          process.exit(1);
        }
        return 'second attempt';
      },
      { maxRetries: 1 },
    );
    expect(await tray.get(once.remote(marker))).toBe('second attempt');
    (await import('node:fs')).rmSync(marker, { force: true });
  });

  it('retries every task in flight on a worker that dies', async () => {
    const os = await import('node:os');
    const path = await import('node:path');
    const marker = path.join(os.tmpdir(), `tray-crash-pipelined-${process.pid}`);
    const work = tray.remote(
      (m: string, i: number) => {
        const fs = require('node:fs');
        if (i === 0 && !fs.existsSync(m)) {
          fs.writeFileSync(m, 'crashed');
          process.exit(1);
        }
        return i;
      },
      { maxRetries: 2 },
    );
    const refs = Array.from({ length: 12 }, (_, i) => work.remote(marker, i));
    expect(await tray.get(refs)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    (await import('node:fs')).rmSync(marker, { force: true });
  });

  it('fails at .remote() on too many or unserializable arguments', () => {
    const one = tray.remote((x: number) => x);
    // @ts-expect-error two arguments for one parameter
    expect(() => one.remote(1, 2)).toThrow(/at most 1 argument/);
    const any = tray.remote((x: unknown) => x);
    expect(() => any.remote({ handler: () => 1 })).toThrow(tray.SerializationError);
    expect(() => any.remote({ handler: () => 1 })).toThrow(
      /argument 1 \.handler: functions cannot be serialized/,
    );
  });
});

describe('get, wait, cancel', () => {
  const sleep = tray.remote(async (ms: number) => {
    await new Promise((r) => setTimeout(r, ms));
    return ms;
  });

  it('gets with a timeout', async () => {
    const ref = sleep.remote(5000);
    await expect(tray.get(ref, { timeoutMs: 50 })).rejects.toBeInstanceOf(tray.GetTimeoutError);
    await tray.cancel(ref, { force: true });
  });

  it('waits keeping the input order, with numReturns and timeouts', async () => {
    const slow = sleep.remote(30_000);
    const fast1 = sleep.remote(1);
    const fast2 = sleep.remote(2);
    const { ready, notReady } = await tray.wait([slow, fast1, fast2], { numReturns: 2 });
    expect(ready.map((r) => r.hex())).toEqual([fast1.hex(), fast2.hex()]);
    expect(notReady.map((r) => r.hex())).toEqual([slow.hex()]);
    const timed = await tray.wait([slow], { timeoutMs: 10 });
    expect(timed.ready).toEqual([]);
    await expect(tray.wait([fast1, fast1])).rejects.toThrow(/distinct/);
    await tray.cancel(slow, { force: true });
  });

  it('cancels queued and running tasks with TaskCancelledError', async () => {
    const running = sleep.remote(10_000);
    await expect(tray.get(running, { timeoutMs: 200 })).rejects.toBeInstanceOf(tray.GetTimeoutError);
    await tray.cancel(running, { force: true });
    await expect(tray.get(running)).rejects.toBeInstanceOf(tray.TaskCancelledError);
    const blocker = await tray.put(1);
    const gate = sleep.remote(10_000);
    const queued = tray.remote((x: number) => x).remote(gate as unknown as number);
    await tray.cancel(queued);
    await expect(tray.get(queued)).rejects.toBeInstanceOf(tray.TaskCancelledError);
    await tray.cancel(gate, { force: true });
    expect(await tray.get(blocker)).toBe(1);
  });
});

describe('scheduling', () => {
  it('sets CUDA_VISIBLE_DEVICES for the GPUs a task was granted', async () => {
    const devices = tray.remote(() => process.env.CUDA_VISIBLE_DEVICES ?? '', { numGpus: 2 });
    expect((await tray.get(devices.remote())).split(',').sort()).toEqual(['0', '1']);
    const one = devices.options({ numGpus: 1 });
    const got = await tray.get([one.remote(), one.remote()]);
    for (const g of got) expect(['0', '1']).toContain(g);
    const none = tray.remote(() => process.env.CUDA_VISIBLE_DEVICES ?? 'unset');
    expect(await tray.get(none.remote())).toBe('unset');
  });

  it('warns once about an infeasible task while other tasks still run', async () => {
    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: any) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      const impossible = tray.remote(() => 1, { resources: { unobtainium: 1 } });
      const ref = impossible.remote();
      const ok = tray.remote((x: number) => x * 2);
      expect(await tray.get(ok.remote(21))).toBe(42);
      const { ready } = await tray.wait([ref], { timeoutMs: 300 });
      expect(ready).toEqual([]);
      const warnings = writes.filter((w) => w.includes('unobtainium'));
      expect(warnings).toHaveLength(1);
      await tray.cancel(ref);
    } finally {
      spy.mockRestore();
    }
  });

  it('answers cluster queries inside tasks too', async () => {
    const inside = tray.remote(
      remoteSource<() => Promise<[number, number]>>(
        'async () => [(await tray.clusterResources()).CPU, (await tray.nodes()).length]',
      ),
    );
    expect(await tray.get(inside.remote())).toEqual([2, 1]);
  });

  it('passes runtimeEnv.envVars to the task', async () => {
    const read = tray.remote(() => process.env.MY_TEST_VAR ?? 'unset', {
      runtimeEnv: { envVars: { MY_TEST_VAR: 'hello' } },
    });
    expect(await tray.get(read.remote())).toBe('hello');
  });
});
