// BasicVariantGenerator gives the grid × numSamples configs in Ray's order (grid paths sorted, the
// first varying fastest, the whole grid once per sample), draws every other leaf afresh per
// variant, resolves sampleFrom against the config, says FINISHED at the end, and continues the
// same sequence after saveState/restoreState.
import { describe, expect, it } from 'vitest';
import { BasicVariantGenerator } from './basic-variant.js';
import { FINISHED, type SearchProperties } from './searcher.js';
import { choice, gridSearch, randint, sampleFrom, uniform } from './space.js';

function props(paramSpace: Record<string, unknown>, numSamples = 1, seed = 1): SearchProperties {
  return { metric: 'loss', mode: 'min', paramSpace, numSamples, seed };
}

function drain(g: BasicVariantGenerator, limit = 1000): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (let i = 0; i < limit; i++) {
    const c = g.suggest(`t${i}`);
    if (c === FINISHED) return out;
    if (c === null) throw new Error('unexpected null');
    out.push(c);
  }
  throw new Error('never FINISHED');
}

describe('BasicVariantGenerator', () => {
  it('grid × numSamples in Ray order: sorted grid paths, the first varying fastest, the grid once per sample', () => {
    const g = new BasicVariantGenerator();
    g.setSearchProperties(
      props({ b: gridSearch(['x', 'y', 'z']), a: gridSearch([1, 2]), c: uniform(0, 1) }, 2),
    );
    const configs = drain(g);
    // 2 samples × (2 × 3) grid = 12; paths sorted → a before b, a varies fastest.
    expect(configs.map((c) => `${c.a}${c.b}`)).toEqual([
      ...['1x', '2x', '1y', '2y', '1z', '2z'],
      ...['1x', '2x', '1y', '2y', '1z', '2z'],
    ]);
    // c is drawn afresh for each variant.
    expect(new Set(configs.map((c) => c.c)).size).toBe(12);
    expect(g.suggest('again')).toBe(FINISHED);
  });

  it('nested paths sort as Ray sorts path tuples: ["batch"] before ["opt", "lr"]', () => {
    const g = new BasicVariantGenerator();
    g.setSearchProperties(props({ opt: { lr: gridSearch([0.1, 0.01]) }, batch: gridSearch([16, 32]) }));
    expect(drain(g).map((c) => [c.opt.lr, c.batch])).toEqual([
      [0.1, 16],
      [0.1, 32],
      [0.01, 16],
      [0.01, 32],
    ]);
  });

  it('without a grid gives numSamples random configs; constants and arrays are copied per trial', () => {
    const g = new BasicVariantGenerator();
    g.setSearchProperties(props({ k: randint(0, 100), fixed: { name: 'm', dims: [1, choice([2, 3])] } }, 5));
    const configs = drain(g);
    expect(configs).toHaveLength(5);
    for (const c of configs) {
      expect(c.fixed.name).toBe('m');
      expect(c.fixed.dims[0]).toBe(1);
      expect([2, 3]).toContain(c.fixed.dims[1]);
    }
    configs[0]!.fixed.name = 'changed';
    expect(configs[1]!.fixed.name).toBe('m');
  });

  it("Ray's JSON grid spelling { grid_search: [...] } is a grid too", () => {
    const g = new BasicVariantGenerator();
    g.setSearchProperties(props({ x: { grid_search: [1, 2, 3] } }));
    expect(drain(g).map((c) => c.x)).toEqual([1, 2, 3]);
  });

  it('sampleFrom sees the resolved config, whatever the key order', () => {
    const g = new BasicVariantGenerator();
    g.setSearchProperties(
      props(
        { twice: sampleFrom((s) => (s.config.a as number) * 2), a: gridSearch([1, 5]), u: uniform(0, 1) },
        2,
      ),
    );
    for (const c of drain(g)) expect(c.twice).toBe(c.a * 2);
  });

  it('sampleFrom reading another sampleFrom waits for it; a cycle is a clear error', () => {
    const g = new BasicVariantGenerator();
    g.setSearchProperties(
      props({
        c: sampleFrom((s) => (s.config.b as number) + 1),
        b: sampleFrom((s) => (s.config.a as number) * 10),
        a: 2,
      }),
    );
    expect(drain(g)).toEqual([{ c: 21, b: 20, a: 2 }]);

    const cyc = new BasicVariantGenerator();
    cyc.setSearchProperties(props({ x: sampleFrom((s) => s.config.y), y: sampleFrom((s) => s.config.x) }));
    expect(() => cyc.suggest('t')).toThrow(/tune.sampleFrom at x reads y, which depends on it in turn/);
  });

  it('a sampleFrom that throws names its path', () => {
    const g = new BasicVariantGenerator();
    g.setSearchProperties(
      props({
        model: {
          width: sampleFrom(() => {
            throw new Error('boom');
          }),
        },
      }),
    );
    expect(() => g.suggest('t')).toThrow('tune.sampleFrom at model.width threw: boom');
  });

  it('the same seed gives the same configs; another seed others', () => {
    const space = { a: uniform(0, 1), b: choice(['p', 'q', 'r']), g: gridSearch([1, 2]) };
    const run = (seed: number) => {
      const g = new BasicVariantGenerator();
      g.setSearchProperties(props(space, 3, seed));
      return drain(g);
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
    const own = new BasicVariantGenerator({ seed: 5 });
    own.setSearchProperties({ ...props(space, 3), seed: undefined });
    expect(drain(own)).toEqual(run(5));
  });

  it('a restored generator continues the same sequence', () => {
    const space = { a: uniform(0, 1), g: gridSearch([1, 2, 3]) };
    const first = new BasicVariantGenerator();
    first.setSearchProperties(props(space, 3, 77));
    for (let i = 0; i < 4; i++) first.suggest(`t${i}`);
    const saved = JSON.parse(JSON.stringify(first.saveState()));
    const rest = drain(first);

    const restored = new BasicVariantGenerator();
    restored.setSearchProperties(props(space, 3));
    restored.restoreState(saved);
    expect(drain(restored)).toEqual(rest);
    expect(rest).toHaveLength(5);
    expect(() => restored.restoreState({ kind: 'TPESearch' })).toThrow(/not a state this generator saved/);
  });

  it("pointsToEvaluate come first, each in place of one sample; a grid they do not fix is still expanded (Ray's count)", () => {
    const g = new BasicVariantGenerator({ pointsToEvaluate: [{ b: 0.5 }, { a: 7, b: 0.25, n: { c: 'x' } }] });
    g.setSearchProperties(
      props({ a: gridSearch([1, 2]), b: uniform(0, 1), n: { c: choice(['x', 'y']), d: 1 } }, 3),
    );
    // point 1: grid a × {b: 0.5} = 2; point 2 fixes a: 1; numSamples 3 − 2 points = 1 sample × grid 2 = 2
    expect(g.totalSamples).toBe(5);
    const configs = drain(g);
    expect(configs.slice(0, 3).map((c) => [c.a, c.b])).toEqual([
      [1, 0.5],
      [2, 0.5],
      [7, 0.25],
    ]);
    expect(configs[2]!.n).toEqual({ c: 'x', d: 1 });
    expect(configs.slice(3).map((c) => c.a)).toEqual([1, 2]);
    expect(configs.slice(3).every((c) => c.b !== 0.5 && c.b !== 0.25)).toBe(true);
  });

  it("constantGridSearch keeps the random leaves across a sample's grid variants, fresh for the next sample", () => {
    const g = new BasicVariantGenerator({ constantGridSearch: true });
    g.setSearchProperties(
      props(
        {
          a: gridSearch([1, 2, 3]),
          u: uniform(0, 1),
          d: sampleFrom((s) => (s.config.a as number) + (s.config.u as number)),
        },
        2,
      ),
    );
    const c = drain(g);
    expect(c.map((x) => x.a)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(new Set(c.slice(0, 3).map((x) => x.u)).size).toBe(1);
    expect(new Set(c.slice(3).map((x) => x.u)).size).toBe(1);
    expect(c[3]!.u).not.toBe(c[0]!.u);
    for (const x of c) expect(x.d).toBe(x.a + x.u);
  });

  it('maxConcurrent holds suggestions (null) until a trial completes', () => {
    const g = new BasicVariantGenerator({ maxConcurrent: 2 });
    g.setSearchProperties(props({ a: uniform(0, 1) }, 3));
    expect(g.suggest('t1')).not.toBeNull();
    expect(g.suggest('t2')).not.toBeNull();
    expect(g.suggest('t3')).toBeNull();
    g.onTrialComplete('t1');
    expect(g.suggest('t3')).not.toBeNull();
    g.onTrialComplete('t2');
    expect(g.suggest('t4')).toBe(FINISHED);
  });

  it('numSamples -1 never finishes; a bad numSamples or paramSpace is refused', () => {
    const g = new BasicVariantGenerator();
    g.setSearchProperties(props({ a: uniform(0, 1) }, -1));
    for (let i = 0; i < 500; i++) expect(g.suggest(`t${i}`)).toMatchObject({ a: expect.any(Number) });
    expect(() => new BasicVariantGenerator().setSearchProperties(props({}, 0))).toThrow(
      /numSamples must be a positive integer/,
    );
    const none = new BasicVariantGenerator();
    none.setSearchProperties(props(undefined as any, 2));
    expect(drain(none)).toEqual([{}, {}]);
    expect(() => new BasicVariantGenerator().setSearchProperties(props([] as any))).toThrow(
      /paramSpace must be a plain object/,
    );
    expect(() => new BasicVariantGenerator({ maxConcurrent: -1 })).toThrow(
      /maxConcurrent must be a non-negative integer/,
    );
  });
});
