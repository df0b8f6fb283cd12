// An object over 2 GiB moving between nodes: two real raylets (each with its own store) and a
// real GCS in this process, on 127.0.0.1. The object is written in place into node A's store
// (no copy in this process's heap), pulled by node B in chunks over the framed TCP transport,
// and compared byte for byte where it lands. Chunk offsets past 2^31 and 2^32 - 1 bytes are
// where 32-bit arithmetic would break. The stores' segments leave /dev/shm when the nodes stop.
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { StoreClient } from '@tray/object-store';
import { NodeManagerService } from '@tray/protocol';
import { startNode } from '@tray/raylet/testing';
import { cleanUp, onCleanup } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { startGcs } from './gcs.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
afterEach(cleanUp);

/** Byte i of the object: a 64 KiB random block repeated, shifted by i's block number. */
function fill(view: Uint8Array, block: Uint8Array): void {
  for (let at = 0, n = 0; at < view.byteLength; at += block.byteLength, n++) {
    const part = block.subarray(0, Math.min(block.byteLength, view.byteLength - at));
    view.set(part, at);
    view[at] = n & 0xff; // each block differs from its neighbours: misplaced chunks are seen
  }
}

/** Where two views first differ (-1: equal), compared in 256 MiB slices. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.byteLength !== b.byteLength) return Math.min(a.byteLength, b.byteLength);
  const slice = 256 * MiB;
  for (let at = 0; at < a.byteLength; at += slice) {
    const end = Math.min(a.byteLength, at + slice);
    const x = Buffer.from(a.buffer, a.byteOffset + at, end - at);
    const y = Buffer.from(b.buffer, b.byteOffset + at, end - at);
    if (!x.equals(y)) {
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return at + i;
    }
  }
  return -1;
}

describe('an object over 2 GiB', () => {
  it('put on node A is read on node B byte for byte', { timeout: 600_000 }, async () => {
    // Past 2^32 would need 8+ GiB of /dev/shm for the two stores; 2 GiB + 37 MiB + 4,321 bytes
    // crosses 2^31 (where int32 offsets turn negative) and ends inside a chunk.
    const dataSize = 2 * GiB + 37 * MiB + 4321;
    const metadata = Buffer.from('over-2-GiB');
    const objectStoreMemory = dataSize + 64 * MiB;
    const gcs = await startGcs();
    const nodes = [];
    for (let i = 0; i < 2; i++) {
      const n = await startNode({
        gcsAddress: gcs.address,
        numCpus: 1,
        prestartWorkers: 0,
        objectStoreMemory,
      });
      onCleanup(() => n.stop());
      const store = await StoreClient.connect(n.raylet.storeSocketPath);
      onCleanup(() => store.close());
      nodes.push({ ...n, store });
    }
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];

    const id = randomBytes(28);
    const created = await a.store.create(id, dataSize, metadata.byteLength);
    fill(created.data, randomBytes(64 * 1024));
    created.metadata.set(metadata);
    await a.store.seal(id);
    const original = await a.store.get(id);

    const pullStarted = performance.now();
    await b.driver.request(NodeManagerService.PullObject, {
      objectId: id,
      nodeId: Buffer.from(a.raylet.nodeId, 'hex'),
    });
    const ms = performance.now() - pullStarted;
    console.log(
      `pulled ${dataSize} bytes from A to B in ${ms.toFixed(0)} ms (${(dataSize / MiB / (ms / 1000)).toFixed(0)} MiB/s)`,
    );
    const copy = await b.store.get(id);
    expect(copy.data.byteLength).toBe(dataSize);
    expect(Buffer.from(copy.metadata).equals(metadata)).toBe(true);
    expect(firstDifference(original.data, copy.data)).toBe(-1);
    a.store.release(original);
    b.store.release(copy);

    await cleanUp();
    // Nothing of the two stores (segments of this process) is left in /dev/shm.
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith(`tray-store-${process.pid}-`))).toEqual([]);
  });
});
