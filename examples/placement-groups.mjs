// Placement groups: reserve two bundles of one CPU each on a 2-CPU cluster and run a task in each
// bundle. While the group holds both CPUs a task outside it waits; removing the group gives the
// CPUs back and that task runs.
// Run it with `node examples/placement-groups.mjs` after `npm run build`.
import * as tray from '@tray/core';

await tray.init({ numCpus: 2 });

const pg = tray.placementGroup([{ CPU: 1 }, { CPU: 1 }], { strategy: 'PACK' });
await pg.ready();

const square = tray.remote((x) => x * x);
const inBundle = (i) => square.options({ schedulingStrategy: { placementGroup: pg, bundleIndex: i } });
console.log(await tray.get([inBundle(0).remote(3), inBundle(1).remote(4)])); // [ 9, 16 ]

const outside = square.remote(5);
const { ready } = await tray.wait([outside], { timeoutMs: 500 });
console.log(ready.length); // 0: every CPU is the group's

await tray.removePlacementGroup(pg);
console.log(await tray.get(outside)); // 25

await tray.shutdown();
