// The paramSpace survives experiment_state.json: every Domain and gridSearch comes back as the
// same kind with the same fields (infinite bounds included); a sampleFrom is refused on decode.
import { describe, expect, it } from 'vitest';
import * as tune from '../index.js';
import { decodeSpace, encodeSpace } from './param-space.js';

describe('encodeSpace / decodeSpace', () => {
  it('round-trips domains, grids and nested values through JSON', () => {
    const space = {
      lr: tune.loguniform(1e-4, 1e-1),
      q: tune.quniform(0, 1, 0.1),
      n: tune.randn(0, 2),
      layers: tune.choice([1, 2, [3, 4]]),
      grid: tune.gridSearch(['a', 'b']),
      nested: { k: tune.randint(1, 10), fixed: 5 },
    };
    const { json, hasFunctions } = encodeSpace(space);
    expect(hasFunctions).toBe(false);
    const back = decodeSpace(JSON.parse(JSON.stringify(json)));
    expect(back).toEqual(space);
    expect(back.n).toBeInstanceOf(tune.FloatDomain);
    expect((back.n as tune.FloatDomain).lower).toBe(Number.NEGATIVE_INFINITY);
    expect(back.grid).toBeInstanceOf(tune.GridSearch);
  });

  it('marks sampleFrom and refuses to make it up', () => {
    const { json, hasFunctions } = encodeSpace({ x: tune.sampleFrom(() => 1) });
    expect(hasFunctions).toBe(true);
    expect(() => decodeSpace(json)).toThrow(/sampleFrom/);
  });
});
