// What a trial asks the cluster for: withResources' forms (CPU/GPU/custom, lower-case keys, a
// function of the config, a PlacementGroupFactory) and the messages for bad requests.
import { describe, expect, it } from 'vitest';
import { describeTrainable, withParameters, withResources } from './define.js';
import { PlacementGroupFactory } from './resources.js';

const fn = async () => {};

describe('withResources', () => {
  it('turns a request into one bundle, custom resources merged, CPU 1 by default', () => {
    const t = describeTrainable(withResources(fn, { cpu: 2, GPU: 1, custom: { accel: 1 }, mem_slot: 3 }));
    expect(t.resources({}).toJSON()).toEqual({
      bundles: [{ CPU: 2, GPU: 1, accel: 1, mem_slot: 3 }],
      strategy: 'PACK',
    });
    expect(describeTrainable(fn).resources({}).bundles).toEqual([{ CPU: 1 }]);
  });

  it('takes a function of the config and a placement-group factory', () => {
    const t = describeTrainable(withResources(fn, (c) => ({ CPU: c.workers as number })));
    expect(t.resources({ workers: 3 }).bundles).toEqual([{ CPU: 3 }]);
    const pgf = new PlacementGroupFactory([{ CPU: 1 }, { CPU: 2, GPU: 1 }], { strategy: 'SPREAD' });
    const p = describeTrainable(withParameters(withResources(fn, pgf), { k: 1 }));
    expect(p.resources({})).toBe(pgf);
    expect(p.captures).toEqual({ k: 1 });
    expect(pgf.total()).toEqual({ CPU: 3, GPU: 1 });
  });

  it('says what is wrong with a bad request', () => {
    expect(() => withResources(fn, { CPU: -1 })).toThrow(/CPU must be a finite number >= 0/);
    expect(() => withResources(fn, { custom: 3 as never })).toThrow(/custom must be an object/);
    expect(() => new PlacementGroupFactory([])).toThrow(/non-empty array of bundles/);
    expect(() => new PlacementGroupFactory([{ CPU: 1 }], { strategy: 'TIGHT' as never })).toThrow(
      /strategy must be one of PACK, SPREAD, STRICT_PACK, STRICT_SPREAD/,
    );
    expect(() => withResources({ fit: () => {} } as never, { CPU: 1 })).toThrow(
      /has fit\(\) but no asTrainable\(\)/,
    );
  });
});

describe('a trainer (asTrainable())', () => {
  const trainer = (described: unknown) => ({ fit: () => {}, asTrainable: () => described }) as never;

  it('is a function trainable made in the trial by a module export, with no resources of its own', () => {
    const t = describeTrainable(
      trainer({
        module: 'file:///x/tune-trial.js',
        exportName: 'make',
        args: [1, 'a'],
        name: 'run',
        resources: { CPU: 0 },
      }),
    );
    expect(t.kind).toBe('function');
    expect(t.name).toBe('run');
    expect(t.reference).toEqual({ module: 'file:///x/tune-trial.js', exportName: 'make', args: [1, 'a'] });
    expect(t.resources({}).toJSON()).toEqual({ bundles: [{}], strategy: 'PACK' });
  });

  it('says what asTrainable() must return, and that withResources does not wrap a trainer', () => {
    expect(() => describeTrainable(trainer(5))).toThrow(/must return \{ module, exportName, args \}/);
    expect(() => describeTrainable(trainer({ module: 'm', exportName: 'e' }))).toThrow(
      /module, exportName, args/,
    );
    expect(() => withResources(trainer({ module: 'm', exportName: 'e', args: [] }), { CPU: 1 })).toThrow(
      /passed to new Tuner\(\) as it is/,
    );
  });
});
