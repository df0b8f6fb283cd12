// The store as the node runs it: a server process and client processes on one machine.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { pattern } from './fixtures/pattern.mjs';
import { hexId, type Proc, type ServerProc, startClient, startServer } from './processes.js';

const digest = (bytes: Uint8Array) => createHash('sha1').update(bytes).digest('hex');
const MiB = 1 << 20;

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  cleanup = [];
});

async function server(options: Record<string, unknown> = {}): Promise<ServerProc> {
  const s = await startServer(options);
  cleanup.push(() => s.stop());
  return s;
}

async function client(s: ServerProc): Promise<Proc> {
  const c = await startClient(s.socketPath);
  cleanup.push(() => c.stop());
  return c;
}

describe('several client processes at once', () => {
  it('put and get each other objects byte-identical', async () => {
    const s = await server();
    const clients = await Promise.all([0, 1, 2, 3].map(() => client(s)));
    const items = clients.map((_, c) =>
      Array.from({ length: 25 }, (_, n) => ({
        hex: hexId(c + 1, n),
        seed: c * 1000 + n,
        size: 1 + ((n * 7919) % 300_000),
      })),
    );
    await Promise.all(clients.map((c, i) => c.call('putMany', { items: items[i] })));
    const checks = clients.flatMap((c, i) =>
      items[(i + 1) % clients.length]!.map(async (item) => {
        expect(await c.call('digest', { hex: item.hex })).toBe(digest(pattern(item.seed, item.size)));
      }),
    );
    await Promise.all(checks);
    const stats = await s.stats();
    expect(stats.numObjects).toBe(100);
    expect(stats.numPinned).toBe(0);
  });

  it('a get waits for an object another process seals later', async () => {
    const s = await server();
    const [reader, writer] = await Promise.all([client(s), client(s)]);
    const hex = hexId(9, 1);
    const waiting = reader.call('digest', { hex, timeoutMs: -1 });
    await writer.call('put', { hex, seed: 5, size: 1000 });
    expect(await waiting).toBe(digest(pattern(5, 1000)));
    await expect(reader.call('digest', { hex: hexId(9, 2), timeoutMs: 50 })).rejects.toMatchObject({
      name: 'ObjectNotFoundError',
    });
  });
});

describe('zero copy', () => {
  it('a view is a mapping of the shared segment, and writing through it changes only that view', async () => {
    const s = await server();
    const [writer, reader, other] = await Promise.all([client(s), client(s), client(s)]);
    const hex = hexId(3, 1);
    const original = await writer.call('put', { hex, seed: 77, size: 3 * MiB });
    const held = await reader.call('hold', { hex });
    // The view's bytes are the segment file's pages mapped into the reader: no copy was made.
    expect(held.mapping).toContain(s.segmentPath);
    const mutated = await reader.call('mutate', { hex });
    expect(mutated).not.toBe(original);
    expect(await other.call('digest', { hex })).toBe(original);
    expect(await reader.call('digest', { hex })).toBe(original);
  });
});

describe('small views', () => {
  it('are cut from one mapping, and a write through one reaches no later get, no other process, no later object', async () => {
    const s = await server();
    const [writer, reader, other] = await Promise.all([client(s), client(s), client(s)]);
    const [a, b, c] = [hexId(8, 1), hexId(8, 2), hexId(8, 3)];
    const originalA = await writer.call('put', { hex: a, seed: 81, size: 1000 });
    const originalB = await writer.call('put', { hex: b, seed: 82, size: 1000 });
    const viewA = await reader.call('hold', { hex: a });
    const viewB = await reader.call('hold', { hex: b });
    // Both are pages of the segment file, in the same mapping: no mapping was made per get.
    expect(viewA.mapping).toContain(s.segmentPath);
    expect(viewB.mapping).toBe(viewA.mapping);
    // A and B share a page (64-byte aligned objects): the write copies it into the reader only.
    expect(await reader.call('mutate', { hex: a })).not.toBe(originalA);
    expect(await reader.call('digest', { hex: a })).toBe(originalA);
    expect(await reader.call('digest', { hex: b })).toBe(originalB);
    expect(await other.call('digest', { hex: a })).toBe(originalA);
    // The store reuses A's memory for C: the reader must read C, not its copy of the old page.
    await reader.call('release', { hex: a });
    await waitFor(async () => (await writer.call('delete', { hex: a })) === 0, { what: 'A deleted' });
    const originalC = await writer.call('put', { hex: c, seed: 83, size: 1000 });
    // Gets of one tick share one pagemap read (cleanRanges): it too must see the copied page.
    const d = hexId(8, 4);
    const originalD = await writer.call('put', { hex: d, seed: 84, size: 1000 });
    expect(await reader.call('digestMany', { hexes: [d, c] })).toEqual([originalD, originalC]);
    expect(await reader.call('digest', { hex: c })).toBe(originalC);
    expect(await reader.call('digest', { hex: b })).toBe(originalB);
  });
});

describe('clients that die', () => {
  it('a client SIGKILLed while holding views gives its references back', async () => {
    const s = await server();
    const [writer, reader] = await Promise.all([client(s), client(s)]);
    await writer.call('put', { hex: hexId(4, 1), seed: 1, size: 10_000, primary: false });
    await writer.call('put', { hex: hexId(4, 2), seed: 2, size: 20_000, primary: false });
    await reader.call('hold', { hex: hexId(4, 1) });
    await reader.call('hold', { hex: hexId(4, 2) });
    expect((await s.stats()).numPinned).toBe(2);
    await reader.kill('SIGKILL');
    await waitFor(async () => (await s.stats()).numPinned === 0, { what: 'references released' });
    expect(await writer.call('digest', { hex: hexId(4, 2) })).toBe(digest(pattern(2, 20_000)));
  });

  it('a client SIGKILLed while creating has its unsealed objects aborted', async () => {
    const s = await server();
    const [creator, other] = await Promise.all([client(s), client(s)]);
    await creator.call('create', { hex: hexId(5, 1), size: 4 * MiB });
    expect((await s.stats()).usedBytes).toBeGreaterThanOrEqual(4 * MiB);
    await creator.kill('SIGKILL');
    await waitFor(async () => (await s.stats()).usedBytes === 0, { what: 'creation aborted' });
    // The id is free again.
    await other.call('put', { hex: hexId(5, 1), seed: 3, size: 100 });
    expect(await other.call('digest', { hex: hexId(5, 1) })).toBe(digest(pattern(3, 100)));
  });
});

describe('memory management', () => {
  it('ten times the capacity put, then random gets are byte-identical (spilling)', async () => {
    const s = await server({ capacity: 64 * MiB });
    const c = await client(s);
    const items = Array.from({ length: 400 }, (_, n) => ({
      hex: hexId(6, n),
      seed: n + 1,
      size: n % 4 === 0 ? 6.5 * MiB + n : 64 * 1024 + n,
    }));
    const total = items.reduce((sum, item) => sum + item.size, 0);
    expect(total).toBeGreaterThan(10 * 64 * MiB);
    for (let i = 0; i < items.length; i += 50) await c.call('putMany', { items: items.slice(i, i + 50) });
    let stats = await s.stats();
    expect(stats.spilledObjects).toBeGreaterThan(0);
    expect(stats.usedBytes).toBeLessThanOrEqual(64 * MiB);
    let x = 12345;
    for (let k = 0; k < 40; k++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const item = items[x % items.length]!;
      expect(await c.call('digest', { hex: item.hex })).toBe(digest(pattern(item.seed, item.size)));
    }
    stats = await s.stats();
    expect(stats.restoredObjects).toBeGreaterThan(0);
    expect(stats.numObjects).toBe(items.length);
  });

  it("memory pinned only by another process's dropped views is reclaimed before a create is refused", async () => {
    const s = await server({ capacity: 8 * MiB, spilling: false });
    const [writer, reader] = await Promise.all([client(s), client(s)]);
    // A secondary copy (evictable once unread) that the reader views and drops without releasing.
    await writer.call('put', { hex: hexId(7, 1), seed: 1, size: 6 * MiB, primary: false });
    expect(await reader.call('drop', { hex: hexId(7, 1) })).toBe(digest(pattern(1, 6 * MiB)));
    expect((await s.stats()).numPinned).toBe(1);
    // No room unless the reader's collector gives the view back: the store asks it to.
    await writer.call('put', { hex: hexId(7, 2), seed: 2, size: 6 * MiB });
    expect(await writer.call('digest', { hex: hexId(7, 2) })).toBe(digest(pattern(2, 6 * MiB)));
    // The dropped copy made the room (the new primary is all that is left; with spilling off it
    // counts as pinned).
    expect(await s.stats()).toMatchObject({ evictedObjects: 1, numObjects: 1, numPinned: 1 });
  });

  it('with spilling off and everything pinned, create fails with ObjectStoreFullError and the store keeps serving', async () => {
    const s = await server({ capacity: 8 * MiB, spilling: false });
    const c = await client(s);
    let n = 0;
    let failure: Error | undefined;
    while (!failure && n < 100) {
      await c.call('put', { hex: hexId(7, n), seed: n, size: MiB }).catch((err: Error) => {
        failure = err;
      });
      n++;
    }
    expect(failure?.name).toBe('ObjectStoreFullError');
    expect(await c.call('digest', { hex: hexId(7, 0) })).toBe(digest(pattern(0, MiB)));
    expect((await s.stats()).numObjects).toBe(n - 1);
  });

  it('when spilling runs out of disk, create fails with OutOfDiskError and what was spilled comes back once memory is freed', async () => {
    const s = await server({ capacity: 8 * MiB, spillLimit: 3 * MiB, spillMinBatch: MiB });
    const c = await client(s);
    let n = 0;
    let failure: Error | undefined;
    while (!failure && n < 100) {
      await c.call('put', { hex: hexId(10, n), seed: n, size: MiB - 4096 }).catch((err: Error) => {
        failure = err;
      });
      n++;
    }
    expect(failure?.name).toBe('OutOfDiskError');
    const stats = await s.stats();
    expect(stats.spilledObjects).toBeGreaterThan(0);
    expect(stats.spillDiskBytes).toBeLessThanOrEqual(3 * MiB);
    // Reading a spilled object needs memory: free some, and it comes back.
    await expect(c.call('digest', { hex: hexId(10, 0) })).rejects.toMatchObject({ name: 'OutOfDiskError' });
    await c.call('delete', { hex: hexId(10, n - 2) });
    expect(await c.call('digest', { hex: hexId(10, 0) })).toBe(digest(pattern(0, MiB - 4096)));
  });

  it('falls back to a disk file when asked, and says how to fix it', async () => {
    const s = await server({ forceFallback: true, fallbackDir: undefined });
    expect(s.fallbackToDisk).toBe(true);
    expect(s.segmentPath.startsWith('/dev/shm')).toBe(false);
    expect(existsSync(s.segmentPath)).toBe(true);
    expect(s.warnings.join('\n')).toMatch(/shm-size|objectStoreMemory/);
    const c = await client(s);
    await c.call('put', { hex: hexId(8, 1), seed: 8, size: 2 * MiB });
    expect(await c.call('digest', { hex: hexId(8, 1) })).toBe(digest(pattern(8, 2 * MiB)));
    expect((await s.stats()).fallbackToDisk).toBe(true);
    expect(path.isAbsolute(s.segmentPath)).toBe(true);
  });
});
