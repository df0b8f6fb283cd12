// Garbage-collection rounds of a full store, with a real store process and client processes: a
// store full of live objects asks its clients to collect once, then refuses creates at once
// for its quiet period instead of making every client run a full GC on every create; a round
// that frees too little is followed by one more before a create is refused; a large create that
// would go to memory the store never used waits for a round when deleted objects that only a
// reader's collector still pins would give that memory back.
import { afterEach, describe, expect, it } from 'vitest';
import { hexId, type Proc, type ServerProc, startClient, startServer } from './processes.js';

const MiB = 1 << 20;

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  cleanup = [];
});

async function server(options: Record<string, unknown>): Promise<ServerProc> {
  const s = await startServer(options);
  cleanup.push(() => s.stop());
  return s;
}

async function client(s: ServerProc): Promise<Proc> {
  const c = await startClient(s.socketPath);
  cleanup.push(() => c.stop());
  return c;
}

describe('collection rounds in a full store', () => {
  it('are rate-limited when the store is full of live objects: one round for 40 refused creates', async () => {
    const s = await server({ capacity: 8 * MiB, spilling: false, collectionQuietMs: 600_000 });
    const clients = await Promise.all([0, 1, 2, 3].map(() => client(s)));
    // Primary copies nobody frees: live, and with spilling off they stay in memory.
    const live = Array.from({ length: 7 }, (_, n) => ({ hex: hexId(1, n), seed: n, size: MiB }));
    await clients[0]!.call('putMany', { items: live });

    const outcomes = await Promise.all(
      clients.map((c, i) =>
        c.call<string[]>('tryCreates', {
          items: Array.from({ length: 10 }, (_, n) => ({ hex: hexId(10 + i, n), size: 2 * MiB })),
        }),
      ),
    );
    expect(outcomes.flat()).toEqual(new Array(40).fill('ObjectStoreFullError'));
    // Every client was asked once (the first create); the other 39 were refused without a round.
    expect(await s.proc.call('rounds')).toBe(1);
    expect((await s.stats()).numObjects).toBe(7);
  });

  it('a round that frees too little is followed by one more before a create is refused', async () => {
    const s = await server({ capacity: 16 * MiB, spilling: false });
    const [writer, dropper, creator] = await Promise.all([client(s), client(s), client(s)]);
    const [a, b] = [hexId(2, 1), hexId(2, 2)];
    // Evictable copies (not primary) once no view pins them.
    await writer.call('putMany', {
      items: [
        { hex: a, seed: 1, size: 6 * MiB, primary: false },
        { hex: b, seed: 2, size: 6 * MiB, primary: false },
      ],
    });
    // The dropper's views of both are unreachable, but b's only after a's was collected.
    await dropper.call('dropChained', { first: a, second: b });
    expect((await s.stats()).numPinned).toBe(2);

    // 11 MiB fits only once both are given back: the first round frees a, the second b.
    expect(await creator.call('tryCreates', { items: [{ hex: hexId(3, 1), size: 11 * MiB }] })).toEqual([
      'ok',
    ]);
    expect(await s.proc.call('rounds')).toBe(2);
    expect((await s.stats()).numPinned).toBe(0);
  });

  it('a large create reuses the memory of a deleted object a dropped view pinned, not fresh pages', async () => {
    const s = await server({ capacity: 256 * MiB, spilling: false });
    const [writer, dropper] = await Promise.all([client(s), client(s)]);
    const [x, y, z] = [hexId(4, 1), hexId(4, 2), hexId(4, 3)];
    const first = await writer.call<string>('putAt', { hex: x, seed: 1, size: 80 * MiB });
    // The dropper read x and dropped its view: only its collector gives x back. The owner deletes
    // x, which waits for that.
    await dropper.call('drop', { hex: x });
    expect(await writer.call('delete', { hex: x })).toBe(1);
    expect(await s.proc.call('rounds')).toBe(0);

    // y fits in fresh memory, but lands where x was: the store had its clients collect first.
    expect(await writer.call<string>('putAt', { hex: y, seed: 2, size: 80 * MiB })).toBe(first);
    expect(await s.proc.call('rounds')).toBe(1);
    expect((await s.stats()).numObjects).toBe(1);
    expect(await dropper.call('digest', { hex: y })).toBe(await writer.call('digest', { hex: y }));

    // With no object read (both digests released theirs), a create goes to fresh memory at once.
    expect(await writer.call<string>('putAt', { hex: z, seed: 3, size: 80 * MiB })).not.toBe(first);
    expect(await s.proc.call('rounds')).toBe(1);
  });
});
