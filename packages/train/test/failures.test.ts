// How a collective group fails, among real actors in their own worker processes: a peer that
// does not know the group's secret is turned away while the real members still connect (and the
// rendezvous actor is removed once they have); a
// member SIGKILLed (by pid) while the others wait in an allReduce makes theirs reject, naming the
// dead rank, on the socket's close (no timeout set), and every later operation too; a member
// alive but stuck is caught by the per-operation timeout, and the stuck one is told why; one
// that destroys its group fails its peers; and no member process outlives the cluster. The
// members share a node, so the large allReduces here go by cross-memory attach (and, with it off,
// through the group's shared region): a member killed in the middle of one fails the others just
// the same, and no region file stays.
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tray from '@tray/core';
import { isAlive, killAndWait, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Member } from './fixtures/member.mjs';

const MODULE = pathToFileURL(path.join(import.meta.dirname, 'fixtures', 'member.mjs')).href;
const MemberActor = tray.remote(Member, { module: MODULE, exportName: 'Member' });
const pids: number[] = [];
type Handle = tray.ActorHandle<Member>;

beforeAll(async () => {
  await tray.init({ numCpus: 2 });
});

afterAll(async () => {
  await tray.shutdown();
  await killAndWait(pids.filter(isAlive));
});

async function spawn(n: number): Promise<Handle[]> {
  const members = Array.from({ length: n }, () =>
    MemberActor.options({ numCpus: 0, maxConcurrency: 4 }).remote(),
  );
  pids.push(...(await tray.get(members.map((m) => m.pid.remote()))));
  return members;
}

async function makeGroup(name: string, n: number, env: Record<string, string> = {}): Promise<Handle[]> {
  const members = await spawn(n);
  const inits = await tray.get(
    members.map((m, rank) => m.initWith.remote({ name, worldSize: n, rank }, env)),
  );
  for (const [rank, r] of inits.entries())
    if (r.error !== undefined) throw new Error(`rank ${rank}: ${r.error.message}`);
  return members;
}

it('a peer without the group secret is disconnected, and the real members still form the group', async () => {
  const [m0, m1] = await spawn(2);
  const init0 = m0!.init.remote({ name: 'auth', worldSize: 2, rank: 0 });
  const address = await waitFor(
    async () => {
      try {
        const rv = await tray.getActor<{ joined(): (string | null)[] }>('tray.collective:auth');
        return (await tray.get(rv.joined.remote()))[0] ?? undefined;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 60_000, what: "rank 0's address in the rendezvous" },
  );
  const at = address.lastIndexOf(':');
  const socket = connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)) });
  let received = Buffer.alloc(0);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    const first = received.length < 40;
    received = Buffer.concat([received, chunk]);
    if (first && received.length >= 40) {
      // A HELLO claiming rank 1 of 2, with a MAC made without the secret.
      const hello = Buffer.alloc(76);
      hello.write('TRCG', 0);
      hello.writeUInt32LE(1, 4);
      hello.writeUInt32LE(2, 8);
      hello.fill(7, 12);
      socket.write(hello);
    }
  });
  await waitFor(() => received.length >= 40, { timeoutMs: 60_000, what: "rank 0's challenge" });
  // Rank 0 checks the HELLO once the rendezvous (rank 1 joining) gives it the secret.
  const init1 = m1!.init.remote({ name: 'auth', worldSize: 2, rank: 1 });
  await closed;
  expect(received.subarray(0, 4).toString()).toBe('TRCG');
  expect(received.length).toBe(40); // the challenge, and no ACCEPT
  expect(await tray.get([init0, init1])).toEqual([{ ok: true }, { ok: true }]);
  const sums = await tray.get([m0!.run.remote('allReduce', 3, 'f64'), m1!.run.remote('allReduce', 3, 'f64')]);
  // input(r, 3): ((7i + 13r) % 17) - 8 → rank 0 [-8, -1, 6], rank 1 [5, -5, 2]
  expect(sums.map((s) => Array.from(s.value))).toEqual([
    [-3, -6, 8],
    [-3, -6, 8],
  ]);
  // Once every member connected, rank 0 removed the rendezvous actor.
  await waitFor(
    async () => {
      try {
        await tray.getActor('tray.collective:auth');
        return false;
      } catch {
        return true;
      }
    },
    { timeoutMs: 60_000, what: 'the rendezvous actor to be gone' },
  );
});

it('a member SIGKILLed while the others wait in an allReduce fails theirs at once, naming it', async () => {
  const members = await makeGroup('death', 3);
  const pid2 = await tray.get(members[2]!.pid.remote());
  const pending = [0, 1].map((r) => members[r]!.run.remote('allReduce', 1_000_000, 'f32'));
  await waitFor(
    async () => (await tray.get([0, 1].map((r) => members[r]!.startedCount.remote()))).every((c) => c >= 1),
    {
      timeoutMs: 60_000,
      what: 'ranks 0 and 1 to start their allReduce',
    },
  );
  process.kill(pid2, 'SIGKILL');
  // No per-op timeout is set: only the closed connection can end these.
  const results = await tray.get(pending, { timeoutMs: 60_000 });
  for (const r of results) {
    expect(r.error?.name).toBe('CollectiveGroupError');
    expect(r.error?.peerRank).toBe(2);
    expect(r.error?.message).toMatch(/'death': allReduce #1 failed: rank 2: /);
  }
  const later = await tray.get(members[0]!.barrier.remote());
  expect(later.error?.peerRank).toBe(2);
  expect(later.error?.message).toMatch(/barrier #2 failed: the group failed earlier: .*rank 2/);
});

/** The collectives' region files under /dev/shm and the store's fallback directory. */
function regionFiles(): string[] {
  const out: string[] = [];
  for (const dir of ['/dev/shm', path.join(os.tmpdir(), 'tray-store')]) {
    try {
      out.push(...readdirSync(dir).filter((f) => f.startsWith('tray-coll-')));
    } catch {}
  }
  return out;
}

for (const [path, env, run] of [
  ['by cross memory', { TRAY_COLLECTIVE_CROSS_MEMORY: 'on' }, 'run'],
  ['on the shared region', {}, 'run'],
  ['on shared arrays', {}, 'runShared'],
] as const) {
  it(`a member SIGKILLed inside an allReduce ${path} fails the others, and no file stays`, async () => {
    const members = await makeGroup(`death-${path.replaceAll(' ', '-')}`, 3, env);
    expect(await tray.get(members.map((m) => m.sharedMemory.remote()))).toEqual([true, true, true]);
    const first = await tray.get(members.map((m) => m[run].remote('allReduce', 2_000_000, 'f32')));
    for (const r of first) expect(r.error).toBeUndefined();
    expect(await tray.get(members.map((m) => m.crossMemory.remote()))).toEqual(
      Array(3).fill(env.TRAY_COLLECTIVE_CROSS_MEMORY === 'on'),
    );
    const pid2 = await tray.get(members[2]!.pid.remote());
    const pending = members.map((m) => m[run].remote('allReduce', 2_000_000, 'f32'));
    await waitFor(
      async () => (await tray.get(members.map((m) => m.startedCount.remote()))).every((c) => c >= 2),
      { timeoutMs: 60_000, what: 'every rank to start its second allReduce' },
    );
    process.kill(pid2, 'SIGKILL');
    const results = await tray.get(pending.slice(0, 2), { timeoutMs: 60_000 });
    for (const r of results) {
      // It may have finished before the kill landed; otherwise it names the dead rank.
      if (r.error === undefined) continue;
      expect(r.error.name).toBe('CollectiveGroupError');
      expect(r.error.peerRank).toBe(2);
    }
    const later = await tray.get([0, 1].map((r) => members[r]![run].remote('allReduce', 2_000_000, 'f32')));
    for (const r of later) {
      expect(r.error?.name).toBe('CollectiveGroupError');
      expect(r.error?.message).toMatch(/rank 2/);
    }
    await waitFor(() => regionFiles().length === 0, { timeoutMs: 30_000, what: 'no tray-coll-* file' });
  });
}

it('a member alive but stuck is caught by the per-operation timeout, and told so', async () => {
  const [m0, m1] = await makeGroup('stuck', 2);
  const waited = await tray.get(m0!.run.remote('allReduce', 10, 'f32', { timeoutMs: 1000 }));
  expect(waited.error?.name).toBe('CollectiveGroupError');
  expect(waited.error?.peerRank).toBe(1);
  expect(waited.error?.message).toMatch(
    /allReduce #1 failed: rank 1: allReduce #1 timed out after 1000 ms waiting for it/,
  );
  // The stuck member's next call (its allReduce #1) fails with rank 0's reason, not a hang.
  const late = await tray.get(m1!.run.remote('allReduce', 10, 'f32'), { timeoutMs: 60_000 });
  expect(late.error?.name).toBe('CollectiveGroupError');
  expect(late.error?.message).toMatch(/timed out after 1000 ms/);
});

it('a member that destroys its group fails its peers, naming it, and its own later calls', async () => {
  const [m0, m1] = await makeGroup('destroy', 2);
  await tray.get(m1!.destroy.remote());
  const peer = await tray.get(m0!.barrier.remote(), { timeoutMs: 60_000 });
  expect(peer.error?.peerRank).toBe(1);
  expect(peer.error?.message).toMatch(
    /'destroy': barrier #1 failed: .*rank 1: (its connection closed|writing to its connection failed)/,
  );
  const own = await tray.get(m1!.run.remote('allReduce', 4, 'f32'));
  expect(own.error?.message).toMatch(/allReduce #1 failed: the group was destroyed on this member/);
});

it('after shutdown no member process is left', async () => {
  expect(pids.length).toBeGreaterThan(0);
  await tray.shutdown();
  await waitFor(() => pids.every((p) => !isAlive(p)), {
    timeoutMs: 30_000,
    what: 'every member process to exit',
  });
});
