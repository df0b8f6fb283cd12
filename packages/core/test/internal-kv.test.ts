// tray.experimental.internalKv against a real GCS: values put by the driver are read by a worker
// and back, overwrite: false keeps the first value, keys list by prefix, delete by key and by
// prefix, namespaces keep keys apart, and bad input is refused with a message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { remoteSource } from './helpers.js';

const kv = tray.experimental.internalKv;

beforeAll(async () => {
  await tray.init({ numCpus: 1, namespace: 'kv-test' });
});

afterAll(async () => {
  await tray.shutdown();
});

describe('tray.experimental.internalKv', () => {
  it('stores, lists and deletes values by namespace, from drivers and workers', async () => {
    expect(await kv.put('app/a', 'one', { namespace: 'kvt' })).toBe(true);
    expect(await kv.put('app/a', 'two', { namespace: 'kvt', overwrite: false })).toBe(false);
    expect(Buffer.from((await kv.get('app/a', { namespace: 'kvt' }))!).toString()).toBe('one');
    expect(await kv.put('app/a', 'three', { namespace: 'kvt' })).toBe(false);
    await kv.put('app/b', new Uint8Array([1, 2, 3]), { namespace: 'kvt' });
    await kv.put('other', 'x', { namespace: 'kvt' });
    await kv.put('app/a', 'elsewhere', { namespace: 'kvt2' });

    expect((await kv.keys({ namespace: 'kvt', prefix: 'app/' })).sort()).toEqual(['app/a', 'app/b']);
    expect((await kv.keys({ namespace: 'kvt' })).sort()).toEqual(['app/a', 'app/b', 'other']);
    expect([...(await kv.get('app/b', { namespace: 'kvt' }))!]).toEqual([1, 2, 3]);
    expect(await kv.get('missing', { namespace: 'kvt' })).toBeUndefined();

    // A worker sees and writes the same store.
    const inWorker = tray.remote(
      remoteSource<() => Promise<string>>(`async () => {
        const kv = tray.experimental.internalKv;
        await kv.put('from-worker', 'w', { namespace: 'kvt' });
        return Buffer.from(await kv.get('app/a', { namespace: 'kvt' })).toString();
      }`),
    );
    expect(await tray.get(inWorker.remote())).toBe('three');
    expect(Buffer.from((await kv.get('from-worker', { namespace: 'kvt' }))!).toString()).toBe('w');

    expect(await kv.delete('other', { namespace: 'kvt' })).toBe(1);
    expect(await kv.delete('app/', { namespace: 'kvt', byPrefix: true })).toBe(2);
    expect(await kv.keys({ namespace: 'kvt' })).toEqual(['from-worker']);
    expect(Buffer.from((await kv.get('app/a', { namespace: 'kvt2' }))!).toString()).toBe('elsewhere');
  });

  it('refuses bad input with a message that says what to fix', async () => {
    await expect(kv.get('', { namespace: 'kvt' })).rejects.toThrow(/key must be a non-empty string/);
    await expect(kv.put('k', 'v', { namespace: '' })).rejects.toThrow(/namespace must be a non-empty string/);
    await expect(kv.put('k', { a: 1 } as never, { namespace: 'kvt' })).rejects.toThrow(/JSON.stringify/);
  });
});
