// The collectives among real actors: each member is an actor in its own worker process of a
// local cluster, joining through the group's rendezvous actor and talking to the others over
// loopback sockets. Every operation for world sizes 2 and 3, float32 and float64, lengths 0, 1,
// 7, 1001 (odd, smaller than the world size, zero) and 100003 (the reduce-scatter + all-gather
// path; 1200001 float64s for parts of several frames) against results computed here by hand, and
// bit-identical on every rank. The members share a node, so tensors over 64 KiB move by
// cross-memory attach between the members' arrays (run the file with
// TRAY_COLLECTIVE_SHM_MIN_BYTES=0 to put every size there); the last part runs every operation
// of odd sizes that way against hand-computed results, compares it and the shared region
// (TRAY_COLLECTIVE_CROSS_MEMORY=off, what a kernel that refuses gets, also when only one member
// refuses) with TCP bit for bit, and checks no region file stays.
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tray from '@tray/core';
import { isAlive, killAndWait, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { input, Member, noisy } from './fixtures/member.mjs';

const MODULE = pathToFileURL(path.join(import.meta.dirname, 'fixtures', 'member.mjs')).href;
const MemberActor = tray.remote(Member, { module: MODULE, exportName: 'Member' });
const pids: number[] = [];

beforeAll(async () => {
  await tray.init({ numCpus: 2 });
});

afterAll(async () => {
  await tray.shutdown();
  await killAndWait(pids.filter(isAlive));
});

type Handle = tray.ActorHandle<Member>;

/** `n` members of group `name`, each in its own worker process, joined (with `env`, or rank r's `env(r)`, set at init). */
async function makeGroup(
  name: string,
  n: number,
  env: Record<string, string> | ((rank: number) => Record<string, string>) = {},
): Promise<Handle[]> {
  const members = Array.from({ length: n }, () =>
    MemberActor.options({ numCpus: 0, maxConcurrency: 4 }).remote(),
  );
  pids.push(...(await tray.get(members.map((m) => m.pid.remote()))));
  const inits = await tray.get(
    members.map((m, rank) =>
      m.initWith.remote({ name, worldSize: n, rank }, typeof env === 'function' ? env(rank) : env),
    ),
  );
  for (const [rank, r] of inits.entries())
    if (r.error !== undefined) throw new Error(`rank ${rank}: ${r.error.message}`);
  return members;
}

function bytes(t: Float32Array | Float64Array): Buffer {
  return Buffer.from(t.buffer, t.byteOffset, t.byteLength);
}

function parts(length: number, n: number): [number, number][] {
  const base = Math.floor(length / n);
  const out: [number, number][] = [];
  let at = 0;
  for (let r = 0; r < n; r++) {
    const len = base + (r < length % n ? 1 : 0);
    out.push([at, at + len]);
    at += len;
  }
  return out;
}

/** The reduction of every rank's input by hand, rounded to the array type. */
function expected(op: string, n: number, length: number, dtype: 'f32' | 'f64'): Float32Array | Float64Array {
  const ins = Array.from({ length: n }, (_, r) => input(r, length, dtype));
  const out = dtype === 'f32' ? new Float32Array(length) : new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const xs = ins.map((t) => t[i]!);
    const sum = xs.reduce((a, b) => a + b, 0);
    out[i] = op === 'sum' ? sum : op === 'mean' ? sum / n : op === 'min' ? Math.min(...xs) : Math.max(...xs);
  }
  return out;
}

const LENGTHS = [0, 1, 7, 1001, 100_003];

for (const n of [2, 3]) {
  describe(`world size ${n}`, () => {
    let members: Handle[];
    beforeAll(async () => {
      members = await makeGroup(`ops-${n}`, n);
    });

    for (const dtype of ['f32', 'f64'] as const) {
      it(`every operation on ${dtype} tensors of lengths ${LENGTHS.join(', ')}`, async () => {
        for (const length of LENGTHS) {
          const results = await tray.get(members.map((m) => m.suite.remote(length, dtype)));
          const type = dtype === 'f32' ? Float32Array : Float64Array;
          for (const [rank, res] of results.entries()) {
            for (const op of ['sum', 'mean', 'min', 'max'] as const) {
              const want = expected(op, n, length, dtype);
              expect(res.allReduce[op]).toBeInstanceOf(type);
              expect(Array.from(res.allReduce[op]), `allReduce ${op} length ${length} rank ${rank}`).toEqual(
                Array.from(want),
              );
              const [a, b] = parts(length, n)[rank]!;
              expect(
                Array.from(res.reduceScatter[op]),
                `reduceScatter ${op} length ${length} rank ${rank}`,
              ).toEqual(Array.from(want.subarray(a, b)));
            }
            expect(
              bytes(res.broadcast).equals(bytes(input(1, length, dtype))),
              `broadcast length ${length}`,
            ).toBe(true);
            expect(res.allGather).toHaveLength(n);
            for (let r = 0; r < n; r++) {
              expect(bytes(res.allGather[r]).equals(bytes(input(r, length, dtype))), `allGather ${r}`).toBe(
                true,
              );
            }
            // The input is left as it was.
            expect(bytes(res.input).equals(bytes(input(rank, length, dtype)))).toBe(true);
          }
          // The same bits on every rank.
          for (const op of ['sum', 'mean', 'min', 'max'] as const) {
            for (const res of results.slice(1)) {
              expect(bytes(res.allReduce[op]).equals(bytes(results[0]!.allReduce[op]))).toBe(true);
            }
          }
        }
      });
    }

    it('allReduce into a reused out array and in place gives the hand-computed results', async () => {
      for (const dtype of ['f32', 'f64'] as const) {
        for (const length of [1, 1001, 100_003]) {
          for (const op of ['sum', 'mean', 'min', 'max'] as const) {
            for (const mode of ['out', 'inplace'] as const) {
              const results = await tray.get(
                members.map((m) => m.allReduceInto.remote(length, dtype, op, mode)),
              );
              const want = bytes(expected(op, n, length, dtype));
              for (const [rank, r] of results.entries()) {
                const what = `${mode} ${op} ${dtype} ${length} rank ${rank}: ${r.error?.message}`;
                expect(r.same, what).toEqual([true, true]);
                for (const v of r.value) expect(bytes(v).equals(want), what).toBe(true);
                if (mode === 'out')
                  expect(bytes(r.input!).equals(bytes(input(rank, length, dtype))), what).toBe(true);
              }
            }
          }
        }
      }
    });

    it('a float64 tensor of 1200001 elements (parts of several frames) reduces and scatters right', async () => {
      const length = 1_200_001;
      const all = await tray.get(members.map((m) => m.run.remote('allReduce', length, 'f64', { op: 'sum' })));
      const scattered = await tray.get(
        members.map((m) => m.run.remote('reduceScatter', length, 'f64', { op: 'max' })),
      );
      const sum = expected('sum', n, length, 'f64');
      const max = expected('max', n, length, 'f64');
      for (const [rank, r] of all.entries()) {
        expect(bytes(r.value).equals(bytes(sum)), `allReduce rank ${rank}`).toBe(true);
        const [a, b] = parts(length, n)[rank]!;
        expect(
          bytes(scattered[rank]!.value).equals(bytes(max.subarray(a, b))),
          `reduceScatter rank ${rank}`,
        ).toBe(true);
      }
    });

    it('a sum whose rounding depends on the order is the same bits on every rank, direct and split', async () => {
      // Not exactly hand-computable: what matters is that every rank holds the same bits, and
      // that the direct path (small) and reduce-scatter path (large) add in the same order.
      for (const length of [1000, 200_001]) {
        const results = await tray.get(
          members.map((m) => m.run.remote('allReduce', length, 'f32', { op: 'sum' }, 'noisy')),
        );
        for (const r of results.slice(1)) expect(bytes(r.value).equals(bytes(results[0]!.value))).toBe(true);
        const ins = Array.from({ length: n }, (_, r) => noisy(r, length, 'f32'));
        const rankOrder = new Float32Array(length);
        for (let i = 0; i < length; i++) for (const t of ins) rankOrder[i]! += t[i]!;
        expect(bytes(results[0]!.value).equals(bytes(rankOrder))).toBe(true);
      }
    });
  });
}

describe('validation', () => {
  it('members passing different lengths all reject, naming the lengths', async () => {
    const members = await makeGroup('mismatch', 2);
    const [a, b] = await tray.get([
      members[0]!.run.remote('allReduce', 7, 'f32'),
      members[1]!.run.remote('allReduce', 8, 'f32'),
    ]);
    for (const r of [a, b]) {
      expect(r.error?.name).toBe('CollectiveGroupError');
      expect(r.error?.message).toMatch(/allReduce #1.*tensor of (7|8) elements.*this member (8|7)/);
    }
  });
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

describe('shared memory on one node', () => {
  for (const n of [2, 3]) {
    it(`shared arrays on ${n} members: every operation on f32 and f64 tensors of lengths ${LENGTHS.join(', ')}, by hand`, async () => {
      // Every size through the same-node path; lengths below the world size leave parts empty.
      const members = await makeGroup(`arrays-${n}`, n, { TRAY_COLLECTIVE_SHM_MIN_BYTES: '0' });
      for (const dtype of ['f32', 'f64'] as const) {
        for (const length of LENGTHS) {
          for (const shared of [true, false]) {
            const results = await tray.get(members.map((m) => m.sharedSuite.remote(length, dtype, shared)));
            for (const [rank, r] of results.entries()) {
              const where = `${shared ? 'all shared' : 'rank 1 private'} ${dtype} ${length} rank ${rank}: ${r.error?.message}`;
              expect(r.value, where).toBeDefined();
              const res = r.value!;
              for (const op of ['sum', 'mean', 'min', 'max'] as const) {
                const want = expected(op, n, length, dtype);
                expect(bytes(res.allReduce[op]).equals(bytes(want)), `allReduce ${op} ${where}`).toBe(true);
                expect(bytes(res.inplace[op]).equals(bytes(want)), `in place ${op} ${where}`).toBe(true);
                const [a, b] = parts(length, n)[rank]!;
                expect(
                  bytes(res.reduceScatter[op]).equals(bytes(want.subarray(a, b))),
                  `reduceScatter ${op} ${where}`,
                ).toBe(true);
              }
              expect(bytes(res.broadcast).equals(bytes(input(1, length, dtype))), `broadcast ${where}`).toBe(
                true,
              );
              for (let q = 0; q < n; q++)
                expect(
                  bytes(res.allGather[q]!).equals(bytes(input(q, length, dtype))),
                  `allGather ${where}`,
                ).toBe(true);
              expect(bytes(res.input).equals(bytes(input(rank, length, dtype))), `input ${where}`).toBe(true);
            }
          }
        }
      }
      // Every shared array's file lost its name once its peers mapped it (or the group ended).
      await tray.get(members.map((m) => m.destroy.remote()));
      await waitFor(() => regionFiles().length === 0, { timeoutMs: 30_000, what: 'no tray-coll-* file' });
    });
  }

  for (const n of [2, 3]) {
    it(`cross memory on ${n} members: every operation on f32 and f64 tensors of lengths ${LENGTHS.join(', ')}, by hand`, async () => {
      // Every size through the same-node path: lengths below the world size leave parts empty.
      const members = await makeGroup(`cross-${n}`, n, {
        TRAY_COLLECTIVE_SHM_MIN_BYTES: '0',
        TRAY_COLLECTIVE_CROSS_MEMORY: 'on',
      });
      expect(await tray.get(members.map((m) => m.crossMemory.remote()))).toEqual(Array(n).fill(undefined));
      for (const dtype of ['f32', 'f64'] as const) {
        for (const length of LENGTHS) {
          const results = await tray.get(members.map((m) => m.suite.remote(length, dtype)));
          for (const [rank, res] of results.entries()) {
            for (const op of ['sum', 'mean', 'min', 'max'] as const) {
              const want = expected(op, n, length, dtype);
              const what = `${op} ${dtype} ${length} rank ${rank}`;
              expect(bytes(res.allReduce[op]).equals(bytes(want)), `allReduce ${what}`).toBe(true);
              const [a, b] = parts(length, n)[rank]!;
              expect(
                bytes(res.reduceScatter[op]).equals(bytes(want.subarray(a, b))),
                `reduceScatter ${what}`,
              ).toBe(true);
            }
            expect(bytes(res.broadcast).equals(bytes(input(1, length, dtype)))).toBe(true);
            for (let r = 0; r < n; r++)
              expect(bytes(res.allGather[r]!).equals(bytes(input(r, length, dtype)))).toBe(true);
            expect(bytes(res.input).equals(bytes(input(rank, length, dtype)))).toBe(true);
          }
        }
      }
      expect(await tray.get(members.map((m) => m.crossMemory.remote()))).toEqual(Array(n).fill(true));
      // Into a reused out and in place (a member writes its peers' results into that very array).
      for (const length of [7, 100_003]) {
        for (const op of ['sum', 'mean', 'min', 'max'] as const) {
          for (const mode of ['out', 'inplace'] as const) {
            const results = await tray.get(
              members.map((m) => m.allReduceInto.remote(length, 'f64', op, mode)),
            );
            const want = bytes(expected(op, n, length, 'f64'));
            for (const [rank, r] of results.entries()) {
              const what = `${mode} ${op} ${length} rank ${rank}: ${r.error?.message}`;
              expect(r.same, what).toEqual([true, true]);
              for (const v of r.value) expect(bytes(v).equals(want), what).toBe(true);
            }
          }
        }
      }
      await tray.get(members.map((m) => m.destroy.remote()));
    });
  }

  it('cross memory, the shared region (also when one member refuses cross memory) and TCP give the same bits, and leave no file', async () => {
    const cross = await makeGroup('via-cross', 2, { TRAY_COLLECTIVE_CROSS_MEMORY: 'on' });
    const shm = await makeGroup('via-shm', 2);
    const tcp = await makeGroup('via-tcp', 2, { TRAY_COLLECTIVE_SHM_MIN_BYTES: 'off' });
    // Only rank 0 has cross memory on: the members agree on the region on their first large operation.
    const mixed = await makeGroup(
      'via-mixed',
      2,
      (rank): Record<string, string> => (rank === 0 ? { TRAY_COLLECTIVE_CROSS_MEMORY: 'on' } : {}),
    );
    for (const g of [cross, shm, mixed])
      expect(await tray.get(g.map((m) => m.sharedMemory.remote()))).toEqual([true, true]);
    expect(await tray.get(tcp.map((m) => m.sharedMemory.remote()))).toEqual([false, false]);
    // 70001 floats make the region; 1200001 make it anew, larger; then 70001 again fit it.
    for (const length of [70_001, 1_200_001, 70_001]) {
      const calls: [string, object][] = [
        ['allReduce', { op: 'sum' }],
        ['allReduce', { op: 'mean' }],
        ['reduceScatter', { op: 'sum' }],
        ['broadcast', { srcRank: 1 }],
        ['allGather', {}],
      ];
      for (const [op, options] of calls) {
        const viaTcp = await tray.get(tcp.map((m) => m.run.remote(op, length, 'f32', options, 'noisy')));
        for (const [path, g] of [
          ['cross', cross],
          ['shm', shm],
          ['mixed', mixed],
        ] as const) {
          const via = await tray.get(g.map((m) => m.run.remote(op, length, 'f32', options, 'noisy')));
          for (let rank = 0; rank < 2; rank++) {
            const a = via[rank]!.value;
            const b = viaTcp[rank]!.value;
            expect(a, `${path} ${op} ${length} rank ${rank}: ${via[rank]!.error?.message}`).toBeDefined();
            const flat = (v: Float32Array | Float32Array[]) =>
              Buffer.concat((Array.isArray(v) ? v : [v]).map((t) => bytes(t)));
            expect(flat(a).equals(flat(b)), `${path} ${op} ${length} rank ${rank}`).toBe(true);
          }
        }
      }
    }
    expect(await tray.get(cross.map((m) => m.crossMemory.remote()))).toEqual([true, true]);
    expect(await tray.get(shm.map((m) => m.crossMemory.remote()))).toEqual([false, false]);
    expect(await tray.get(mixed.map((m) => m.crossMemory.remote()))).toEqual([false, false]);
    expect(await tray.get(tcp.map((m) => m.crossMemory.remote()))).toEqual([undefined, undefined]);
    await tray.get([...cross, ...shm, ...mixed, ...tcp].map((m) => m.destroy.remote()));
    await waitFor(() => regionFiles().length === 0, { timeoutMs: 30_000, what: 'no tray-coll-* file' });
  });

  it('allReduce into out and in place, by cross memory, over the region and over TCP (direct and split), equals the returning form', async () => {
    const cross = await makeGroup('into-cross', 2, { TRAY_COLLECTIVE_CROSS_MEMORY: 'on' });
    const shm = await makeGroup('into-shm', 2);
    const tcp = await makeGroup('into-tcp', 2, { TRAY_COLLECTIVE_SHM_MIN_BYTES: 'off' });
    for (const length of [7, 1001, 70_001, 1_200_001]) {
      for (const op of ['sum', 'mean', 'max'] as const) {
        const returned = await tray.get(
          shm.map((m) => m.run.remote('allReduce', length, 'f32', { op }, 'noisy')),
        );
        for (const group of [cross, shm, tcp]) {
          for (const mode of ['out', 'inplace'] as const) {
            const results = await tray.get(
              group.map((m) => m.allReduceInto.remote(length, 'f32', op, mode, 2, 'noisy')),
            );
            for (const [rank, r] of results.entries()) {
              const what = `${group === cross ? 'cross' : group === shm ? 'shm' : 'tcp'} ${mode} ${op} ${length} rank ${rank}: ${r.error?.message}`;
              expect(r.same, what).toEqual([true, true]);
              for (const v of r.value) expect(bytes(v).equals(bytes(returned[rank]!.value)), what).toBe(true);
            }
          }
        }
      }
    }
    await tray.get([...cross, ...shm, ...tcp].map((m) => m.destroy.remote()));
  });

  it('an out of another length or type, or overlapping the tensor, is refused on the calling member', async () => {
    const [member] = await makeGroup('bad-out', 1);
    const errors = await tray.get(
      (['length', 'type', 'overlap', 'array'] as const).map((w) => member!.badOut.remote(w)),
    );
    expect(errors.map((e) => e.error?.name)).toEqual(Array(4).fill('CollectiveGroupError'));
    expect(errors[0]!.error?.message).toMatch(
      /out must be a Float32Array of 16 elements.*got a Float32Array of 15/,
    );
    expect(errors[1]!.error?.message).toMatch(
      /out must be a Float32Array of 16 elements.*got a Float64Array of 16/,
    );
    expect(errors[2]!.error?.message).toMatch(/out overlaps the tensor without being it/);
    expect(errors[3]!.error?.message).toMatch(/out must be a Float32Array of 16 elements.*got Array/);
    await tray.get(member!.destroy.remote());
  });

  it('members passing different lengths by cross memory or to the region all reject, naming the lengths', async () => {
    for (const [name, env] of [
      ['cross-mismatch', { TRAY_COLLECTIVE_CROSS_MEMORY: 'on' }],
      ['shm-mismatch', {}],
    ] as const) {
      const members = await makeGroup(name, 2, env);
      const [a, b] = await tray.get([
        members[0]!.run.remote('allReduce', 100_000, 'f32'),
        members[1]!.run.remote('allReduce', 100_001, 'f32'),
      ]);
      for (const r of [a, b]) {
        expect(r.error?.name).toBe('CollectiveGroupError');
        expect(r.error?.message).toMatch(/allReduce #1.*tensor of 10000[01] elements.*this member 10000[01]/);
      }
      await tray.get(members.map((m) => m.destroy.remote()));
    }
  });
});
