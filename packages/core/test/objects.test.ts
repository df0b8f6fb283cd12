// Objects end to end: put/get of values with refs nested at any depth, large typed arrays that
// come back as views of the node's shared memory (zero copy), memory freed after the last ref
// is dropped (GC'd refs count), and an error that says what was expected for every bad call.
import { readFileSync } from 'node:fs';
import { mappedAddress, type StoreClient } from '@tray/object-store';
import { waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { connectNodeStore } from './helpers.js';

let store: StoreClient;

beforeAll(async () => {
  await tray.init({ numCpus: 2 });
  store = await connectNodeStore();
});

afterAll(async () => {
  await store?.close();
  await tray.shutdown();
});

/** True when the bytes of `buffer` are pages of the node's shared-memory segment. */
function isSharedMemory(buffer: ArrayBufferLike): boolean {
  const address = mappedAddress(buffer as ArrayBuffer);
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const [range, , , , , file] = line.split(/\s+/);
    if (!range || !file?.includes('tray-store')) continue;
    const [lo, hi] = range.split('-').map((h) => BigInt(`0x${h}`));
    if (address >= lo! && address < hi!) return true;
  }
  return false;
}

describe('put and get', () => {
  it('round-trips structured values, typed arrays and buffers', async () => {
    const value = {
      n: 1,
      s: 'text',
      big: 10n,
      date: new Date(0),
      map: new Map([['k', [1, 2]]]),
      set: new Set([1]),
      f32: new Float32Array([1.5, 2.5]),
      buf: Buffer.from('bytes'),
      nested: { deep: [{ x: null }] },
    };
    const back = (await tray.get(await tray.put(value))) as typeof value;
    expect(back).toEqual({ ...value, buf: expect.anything() });
    expect(Buffer.isBuffer(back.buf)).toBe(true);
    expect(back.buf.toString()).toBe('bytes');
    expect(back.f32).toBeInstanceOf(Float32Array);
  });

  it('keeps refs nested at any depth as refs', async () => {
    const inner = await tray.put('inner value');
    const outer = await tray.put({ list: [{ ref: inner }] });
    const got = (await tray.get(outer)) as { list: { ref: tray.ObjectRef<string> }[] };
    expect(got.list[0]!.ref).toBeInstanceOf(tray.ObjectRef);
    expect(got.list[0]!.ref.hex()).toBe(inner.hex());
    expect(await tray.get(got.list[0]!.ref)).toBe('inner value');
    const read = tray.remote((holder: { list: { ref: unknown }[] }) => holder.list[0]!.ref);
    const returned = await tray.get(read.remote(await tray.get(outer)));
    expect((returned as tray.ObjectRef<string>).hex()).toBe(inner.hex());
  });

  it('is not a thenable, and has a hex id', async () => {
    const ref = await tray.put(1);
    expect('then' in ref).toBe(false);
    expect(ref.hex()).toMatch(/^[0-9a-f]{56}$/);
    const passThrough = async () => ref;
    expect(await passThrough()).toBe(ref);
  });

  it('returns a large Float64Array from a task as a view over shared memory', async () => {
    const big = tray.remote((n: number) => {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = i;
      return a;
    });
    const n = (10 * 1024 * 1024) / 8;
    const ref = big.remote(n);
    const first = (await tray.get(ref)) as Float64Array;
    const second = (await tray.get(ref)) as Float64Array;
    expect(first).toBeInstanceOf(Float64Array);
    expect(first.byteLength).toBe(10 * 1024 * 1024);
    expect(first[n - 1]).toBe(n - 1);
    expect(isSharedMemory(first.buffer)).toBe(true);
    expect(isSharedMemory(second.buffer)).toBe(true);
  });

  it('puts a large buffer into the store once and reads it back as shared memory', async () => {
    const data = Buffer.alloc(4 * 1024 * 1024, 7);
    const ref = await tray.put(data);
    const back = (await tray.get(ref)) as Buffer;
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(back.equals(data)).toBe(true);
    expect(isSharedMemory(back.buffer)).toBe(true);
    const sum = tray.remote((b: Uint8Array) => b.reduce((a, x) => a + x, 0));
    expect(await tray.get(sum.remote(ref))).toBe(7 * 4 * 1024 * 1024);
  });
});

describe('reference counting', () => {
  it("frees an object's store memory after its last ref is dropped (garbage-collected refs count)", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'tests run with --expose-gc').toBeDefined();
    // Objects of earlier tests are freed as their refs are collected: wait until that settled.
    let before = -1;
    await waitFor(
      async () => {
        gc!();
        await new Promise((r) => setTimeout(r, 20));
        const used = (await store.stats()).usedBytes;
        const settled = used === before;
        before = used;
        return settled;
      },
      { what: 'the store to settle' },
    );
    let ref: tray.ObjectRef<Uint8Array> | undefined = await tray.put(new Uint8Array(8 * 1024 * 1024));
    expect((await store.stats()).usedBytes).toBeGreaterThanOrEqual(before + 8 * 1024 * 1024);
    // A pending task holding it keeps it alive after the driver drops its own ref.
    const len = tray.remote(async (a: Uint8Array) => a.byteLength);
    const lenRef = len.remote(ref);
    ref = undefined;
    expect(await tray.get(lenRef)).toBe(8 * 1024 * 1024);
    await waitFor(
      async () => {
        gc!();
        await new Promise((r) => setImmediate(r));
        return (await store.stats()).usedBytes < before + 8 * 1024 * 1024;
      },
      { what: 'the store memory to be freed' },
    );
  });
});

describe('bad input', () => {
  const f = tray.remote((x: number) => x);

  it('get', async () => {
    await expect(tray.get(5 as never)).rejects.toThrow(
      /tray\.get: expected an ObjectRef or an array of ObjectRefs, got number/,
    );
    await expect(tray.get([f.remote(1), 'x'] as never)).rejects.toThrow(/element 1 is string/);
    await expect(tray.get(f.remote(1), { timeoutMs: -1 })).rejects.toThrow(
      /timeoutMs must be a non-negative/,
    );
    await expect(tray.get(f.remote(1), { timeout: 1 } as never)).rejects.toThrow(/unknown option "timeout"/);
    await expect(tray.get(tray.put(1) as never)).rejects.toThrow(/await the promise first/);
  });

  it('get and wait of a forged ref fail at once, saying why (no wait for the timeout)', async () => {
    const short = new tray.ObjectRef(Buffer.alloc(3));
    // Without a timeout these would wait forever: failing at all shows they do not wait.
    await expect(tray.get(short)).rejects.toThrow(
      /tray\.get: the ref \(000000\) is not a valid ObjectRef: its id has 3 bytes, an ObjectID has 28/,
    );
    await expect(tray.wait([short])).rejects.toThrow(/tray\.wait: element 0 .* its id has 3 bytes/);
    const ownerless = new tray.ObjectRef(Buffer.alloc(28, 1));
    await expect(tray.get([f.remote(1), ownerless])).rejects.toThrow(/element 1 .* names no owner/);
    // Passed to a task, it is refused by remote() instead of leaving the task waiting forever.
    expect(() => f.remote(short as never)).toThrow(
      /argument 1 \(000000\) is not a valid ObjectRef: its id has 3 bytes/,
    );
    // A well-formed ref whose owner does not exist: the owner cannot be reached, at once.
    const unknownOwner = new tray.ObjectRef(Buffer.alloc(28, 2), {
      workerId: Buffer.alloc(28, 3),
      ip: '127.0.0.1',
      port: 1,
    });
    await expect(tray.get(unknownOwner)).rejects.toBeInstanceOf(tray.OwnerDiedError);
  });

  it('put', async () => {
    const ref = await tray.put(1);
    await expect(tray.put(ref)).rejects.toThrow(/already an ObjectRef/);
    await expect(tray.put({ fn: () => 1 })).rejects.toThrow(/\.fn: functions cannot be serialized/);
    await expect(tray.put(Symbol('s'))).rejects.toBeInstanceOf(tray.SerializationError);
    await expect(tray.put({ p: Promise.resolve(1) })).rejects.toThrow(/\.p: promises cannot be serialized/);
  });

  it('wait', async () => {
    const r = f.remote(1);
    await expect(tray.wait(r as never)).rejects.toThrow(/expected an array of ObjectRefs/);
    await expect(tray.wait([r], { numReturns: 2 })).rejects.toThrow(/cannot exceed the number of refs/);
    await expect(tray.wait([r], { numReturns: 0 })).rejects.toThrow(/positive integer/);
    await expect(tray.wait([r], { timeoutMs: 'soon' as never })).rejects.toThrow(/timeoutMs/);
    await expect(tray.wait([r, r])).rejects.toThrow(/distinct/);
  });

  it('wait on no refs returns two empty lists, as in Ray', async () => {
    expect(await tray.wait([])).toEqual({ ready: [], notReady: [] });
    expect(await tray.wait([], { timeoutMs: 0 })).toEqual({ ready: [], notReady: [] });
  });

  it('cancel', async () => {
    await expect(tray.cancel('abc' as never)).rejects.toThrow(/tray\.cancel: expected an ObjectRef/);
    await expect(tray.cancel(f.remote(1), { force: 'yes' } as never)).rejects.toThrow(
      /force must be a boolean/,
    );
  });

  it('remote and options', () => {
    expect(() => tray.remote(42 as never)).toThrow(
      /tray\.remote: expected a function( or a class)?, got number/,
    );
    expect(() => tray.remote((x: number) => x, { numCpus: -1 })).toThrow(
      /numCpus must be a non-negative number/,
    );
    expect(() => f.options({ numReturns: 0 })).toThrow(
      /numReturns must be a positive integer or 'streaming'/,
    );
    expect(() => f.options({ maxRetries: 1.5 })).toThrow(/maxRetries must be an integer/);
    expect(() => f.options({ retryExceptions: 'yes' } as never)).toThrow(
      /retryExceptions must be a boolean or an array/,
    );
    expect(() => f.options({ resources: { CPU: 1 } })).toThrow(/use the numCpus option/);
    expect(() => f.options({ numCPUs: 1 } as never)).toThrow(/unknown option "numCPUs"/);
    expect(() => f.options({ runtimeEnv: { envVars: { A: 1 } } } as never)).toThrow(
      /envVars\.A must be a string/,
    );
    expect(() => f.options({ schedulingStrategy: 'FAST' } as never)).toThrow(/schedulingStrategy must be/);
    const outside = 5;
    expect(() => tray.remote(() => outside)).toThrow(/outside/);
  });

  it('init', async () => {
    await expect(tray.init({ numCpus: 'two' } as never)).rejects.toThrow(
      /tray\.init: numCpus must be a non-negative number/,
    );
    await expect(tray.init({ address: 'nowhere' })).rejects.toThrow(/address must be "host:port"/);
    await expect(tray.init({ colour: 'red' } as never)).rejects.toThrow(/unknown option "colour"/);
    await expect(tray.init(7 as never)).rejects.toThrow(/options must be an object/);
  });
});

// Last: its store objects must not move the reference-counting test's baseline.
describe('large strings', () => {
  it('round-trips strings too large to travel inline exactly, from put and from a task', async () => {
    // Over the 100 KiB inline limit, so they live in the store; lengths whose encoding is not a
    // multiple of 8, in one-byte and two-byte UTF-8.
    const echo = tray.remote((s: string) => s);
    for (const s of ['x'.repeat(300_001), 'é'.repeat(100_003), `${'ab'.repeat(70_000)}!`]) {
      expect(await tray.get(await tray.put(s))).toBe(s);
      expect(await tray.get(echo.remote(s))).toBe(s);
    }
  });
});
