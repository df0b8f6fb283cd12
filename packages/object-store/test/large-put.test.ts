// Large puts go through the addon's streaming copy (copyInto, and putParts, which writes parts
// with no window): the object read back is the value put, byte for byte, wherever the source
// sits relative to the store's pages (the copy picks its direction from the two page offsets),
// and both refuse what does not fit.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyInto, StoreClient, StoreServer } from '../src/index.js';

const id = (n: number) => {
  const bytes = Buffer.alloc(28);
  bytes.writeUInt32BE(n, 24);
  return bytes;
};

const MB = 1 << 20;
let dir: string;
let server: StoreServer;
let client: StoreClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tray-store-large-'));
  server = await StoreServer.start({
    socketPath: path.join(dir, 's.sock'),
    capacity: 160 * MB,
    spillDir: dir,
  });
  client = await StoreClient.connect(path.join(dir, 's.sock'));
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Bytes no shifted copy of themselves matches: a misplaced block or a missed end shows. */
function pattern(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = 2463534242;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('large puts', () => {
  it('read back exactly, from sources at any page offset', async () => {
    const length = 40 * MB + 4096 + 13; // streamed, with ragged ends
    const backing = pattern(length + 8192);
    let n = 1;
    for (const shift of [0, 8, 88, 2100, 4000, 4095]) {
      const source = backing.subarray(shift, shift + length);
      await client.put(id(n), source);
      const object = await client.get(id(n));
      expect(object.data.length).toBe(length);
      expect(Buffer.compare(object.data, source)).toBe(0);
      client.release(object);
      await client.delete(id(n));
      n++;
    }
  });

  it('putParts lays parts out at their offsets, straight into the store, and checks them', async () => {
    const header = Uint8Array.of(9, 8, 7);
    const body = pattern(40 * MB + 5).subarray(3); // not 8-aligned in its buffer
    const size = 104 + body.length;
    await client.putParts(id(100), size, [
      [0, header],
      [104, body],
    ]);
    const object = await client.get(id(100));
    expect(object.data.length).toBe(size);
    expect([...object.data.subarray(0, 3)]).toEqual([9, 8, 7]);
    expect(Buffer.compare(object.data.subarray(104), body)).toBe(0);
    client.release(object);
    await client.delete(id(100));

    await expect(client.putParts(id(101), 10, [[8, Uint8Array.of(1, 2, 3)]])).rejects.toThrow(
      /parts\[0\] \(offset 8, 3 bytes\) must lie within the object's 10 bytes/,
    );
    await expect(client.putParts(id(101), 10, [[0, [1] as unknown as Uint8Array]])).rejects.toThrow(
      /parts\[0\]\[1\] must be a Uint8Array/,
    );
    expect(await client.contains(id(101))).toBe(false); // nothing was created
  });

  it('copyInto copies like set, and says what does not fit', () => {
    const source = pattern(33 * MB);
    const target = new Uint8Array(33 * MB + 100);
    copyInto(target, source, 100);
    expect(Buffer.compare(target.subarray(100), source)).toBe(0);
    expect(target[99]).toBe(0);
    const small = new Uint8Array(10);
    copyInto(small, Uint8Array.of(1, 2, 3), 7);
    expect([...small.subarray(7)]).toEqual([1, 2, 3]);
    expect(() => copyInto(small, Uint8Array.of(1, 2, 3), 8)).toThrow(
      /offset must be a whole number from 0 to 7/,
    );
    expect(() => copyInto(small, Uint8Array.of(1), -1)).toThrow(RangeError);
    expect(() => copyInto(small, [1] as unknown as Uint8Array)).toThrow(/two Uint8Arrays/);
  });
});
