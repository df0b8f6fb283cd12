// What a caller gets for bad input, before anything goes on the wire: initCollectiveGroup with a
// malformed spec, and operations given something other than a float tensor, an unknown
// reduction, a srcRank outside the group or a bad timeout, each reject with a
// CollectiveGroupError saying what was wrong. A group of one (no peers, no cluster needed) also
// shows the operations' results for a single member and that destroy() ends it.
import { describe, expect, it } from 'vitest';
import { CollectiveGroupError } from './errors.js';
import { initCollectiveGroup } from './init.js';

describe('initCollectiveGroup', () => {
  const bad: [string, unknown, RegExp][] = [
    ['no spec', undefined, /pass \{ name, worldSize, rank \}/],
    ['an empty name', { name: '', worldSize: 2, rank: 0 }, /name must be a non-empty string/],
    [
      'worldSize 0',
      { name: 'g', worldSize: 0, rank: 0 },
      /worldSize must be an integer in \[1, 4096\], got 0/,
    ],
    ['a rank outside', { name: 'g', worldSize: 2, rank: 2 }, /rank must be an integer in \[0, 2\), got 2/],
    ['a fractional rank', { name: 'g', worldSize: 2, rank: 0.5 }, /rank must be an integer/],
    [
      'a negative timeout',
      { name: 'g', worldSize: 2, rank: 0, timeoutMs: -1 },
      /timeoutMs must be a positive number/,
    ],
    [
      'a bad op timeout',
      { name: 'g', worldSize: 2, rank: 0, opTimeoutMs: 'x' },
      /opTimeoutMs must be a positive number/,
    ],
  ];
  for (const [what, spec, message] of bad) {
    it(`rejects ${what}`, async () => {
      const err = await initCollectiveGroup(spec as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CollectiveGroupError);
      expect((err as Error).message).toMatch(/init failed: bad CollectiveGroupSpec/);
      expect((err as Error).message).toMatch(message);
    });
  }
});

describe('a group of one', () => {
  it('gives each operation its single-member result', async () => {
    const g = await initCollectiveGroup({ name: 'solo', worldSize: 1, rank: 0 });
    const t = new Float64Array([1, -2, 3.5]);
    expect(Array.from(await g.allReduce(t, { op: 'mean' }))).toEqual([1, -2, 3.5]);
    expect(Array.from(await g.reduceScatter(t, { op: 'max' }))).toEqual([1, -2, 3.5]);
    expect((await g.allGather(t)).map((x) => Array.from(x))).toEqual([[1, -2, 3.5]]);
    const b = await g.broadcast(new Float32Array(0));
    expect(b).toBeInstanceOf(Float32Array);
    expect(b.length).toBe(0);
    await g.barrier();
    const r = await g.allReduce(t);
    expect(r).not.toBe(t);
    await g.destroy();
    await expect(g.barrier()).rejects.toThrow(
      /'solo': barrier #\d+ failed: the group was destroyed on this member/,
    );
  });

  it('rejects bad arguments to the operations, saying what was wrong', async () => {
    const g = await initCollectiveGroup({ name: 'args', worldSize: 1, rank: 0 });
    const t = new Float32Array(2);
    expect(() => g.allReduce([1, 2] as never)).toThrow(
      /allReduce failed: it takes a Float32Array or Float64Array, got Array/,
    );
    expect(() => g.allGather(new Int32Array(2) as never)).toThrow(/got Int32Array/);
    expect(() => g.allReduce(t, { op: 'prod' as never })).toThrow(
      /op must be one of sum, mean, min, max, got "prod"/,
    );
    expect(() => g.broadcast(t, { srcRank: 1 })).toThrow(
      /srcRank must be an integer rank in \[0, 1\), got 1/,
    );
    expect(() => g.barrier({ timeoutMs: 0 })).toThrow(
      /timeoutMs must be a positive number of milliseconds, got 0/,
    );
    // Bad input takes no operation number (members stay in step): the next two are #1 and #2.
    await expect(g.allReduce(t)).resolves.toHaveLength(2);
    await g.destroy();
    await expect(g.barrier()).rejects.toThrow(/barrier #2 failed/);
  });
});
