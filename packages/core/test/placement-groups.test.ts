// Placement groups end to end on a local 2-CPU cluster: a group's bundles are reserved (plain
// tasks cannot take their CPUs), tasks and actors run inside a bundle, removal gives the CPUs
// back, named groups are found, a group larger than the cluster stays pending, and bad input is
// refused with errors that say what to fix.
import { waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tray from '../src/index.js';

beforeAll(async () => {
  await tray.init({ numCpus: 2, namespace: 'pg-test' });
});

afterAll(async () => {
  await tray.shutdown();
});

const whereAmI = tray.remote(() => process.pid);

describe('placement groups', () => {
  it('reserve their bundles: tasks run inside them, plain tasks wait until the group is removed', async () => {
    const pg = tray.placementGroup([{ CPU: 1 }, { CPU: 1 }], { strategy: 'PACK', name: 'both-cpus' });
    expect(pg.bundleSpecs).toEqual([{ CPU: 1 }, { CPU: 1 }]);
    await pg.ready();
    expect(await pg.wait(1000)).toBe(true);

    const available = await waitFor(
      async () => {
        const a = await tray.availableResources();
        return (a.CPU ?? 0) === 0 ? a : undefined;
      },
      { what: 'the reserved CPUs to leave the pool' },
    );
    expect(available[`CPU_group_${pg.id}`]).toBe(2);
    const total = await tray.clusterResources();
    expect(total[`CPU_group_0_${pg.id}`]).toBe(1);
    expect(total[`CPU_group_1_${pg.id}`]).toBe(1);

    // Inside the group: bundle 0, bundle 1 and "any bundle" all run.
    const inside = await tray.get([
      whereAmI.options({ schedulingStrategy: { placementGroup: pg, bundleIndex: 0 } }).remote(),
      whereAmI.options({ schedulingStrategy: { placementGroup: pg, bundleIndex: 1 } }).remote(),
      whereAmI.options({ schedulingStrategy: { placementGroup: pg } }).remote(),
    ]);
    expect(inside.every((pid) => typeof pid === 'number' && pid > 0)).toBe(true);

    // Outside the group every CPU is reserved: a plain task is not run...
    const plain = whereAmI.remote();
    const early = await tray.wait([plain], { numReturns: 1, timeoutMs: 1500 });
    expect(early.ready).toHaveLength(0);
    // ...until the group is removed.
    await tray.removePlacementGroup(pg);
    expect(typeof (await tray.get(plain, { timeoutMs: 30_000 }))).toBe('number');
    const after = await waitFor(
      async () => {
        const a = await tray.availableResources();
        return a[`CPU_group_${pg.id}`] === undefined ? a : undefined;
      },
      { what: 'the group resources to go away' },
    );
    expect(after.CPU).toBeGreaterThan(0);
    await expect(pg.ready()).rejects.toThrow(/was removed/);
  });

  it('runs an actor inside a bundle and finds a named group from its name', async () => {
    const pg = tray.placementGroup([{ CPU: 1 }], { name: 'for-actor' });
    await pg.ready();
    const found = await tray.getPlacementGroup('for-actor');
    expect(found.id).toBe(pg.id);
    expect(found.bundleSpecs).toEqual([{ CPU: 1 }]);
    await expect(tray.getPlacementGroup('for-actor', { namespace: 'elsewhere' })).rejects.toThrow(
      /no placement group named 'for-actor' in namespace 'elsewhere'/,
    );

    class Pinned {
      pid() {
        return process.pid;
      }
    }
    const Actor = tray.remote(Pinned);
    const a = Actor.options({
      numCpus: 1,
      schedulingStrategy: { placementGroup: found, bundleIndex: 0 },
    }).remote();
    expect(typeof (await tray.get(a.pid.remote()))).toBe('number');

    // A second group of the same name is refused, and says so when asked.
    const twin = tray.placementGroup([{ CPU: 1 }], { name: 'for-actor' });
    await expect(twin.ready()).rejects.toThrow(/for-actor/);
    await tray.removePlacementGroup(pg);
  });

  it('stays pending when the cluster cannot hold it', async () => {
    const pg = tray.placementGroup([{ CPU: 64 }]);
    expect(await pg.wait(300)).toBe(false);
    await tray.removePlacementGroup(pg);
  });

  it('refuses bad bundles, options and strategies with errors that say what to fix', () => {
    expect(() => tray.placementGroup([])).toThrow(/non-empty array/);
    expect(() => tray.placementGroup([{ CPU: -1 }])).toThrow(/finite number ≥ 0, got CPU: number -1/);
    expect(() => tray.placementGroup([{ CPU: 0 }])).toThrow(/at least one resource/);
    expect(() => tray.placementGroup([{ CPU: 1 }], { strategy: 'CLOSE' as never })).toThrow(
      /PACK, SPREAD, STRICT_PACK, STRICT_SPREAD/,
    );
    expect(() => tray.placementGroup([{ CPU: 1 }], { size: 2 } as never)).toThrow(/unknown option 'size'/);
    expect(() => whereAmI.options({ schedulingStrategy: { placementGroup: 'pg' as never } })).toThrow(
      /must be a PlacementGroup/,
    );
    const pg = tray.placementGroup([{ CPU: 1 }]);
    expect(() => whereAmI.options({ schedulingStrategy: { placementGroup: pg, bundleIndex: 1 } })).toThrow(
      /bundleIndex must be an integer from -1 \(any bundle\) to 0, got number 1/,
    );
    return tray.removePlacementGroup(pg);
  });
});
