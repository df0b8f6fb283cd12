// The quickstart of the README: four squares computed by remote tasks.
// Run it with `npm run quickstart` (builds first) or `node examples/quickstart.mjs`.
import * as tray from '@tray/core';

await tray.init();

const square = tray.remote((x) => x * x);
const refs = [0, 1, 2, 3].map((i) => square.remote(i));
console.log(await tray.get(refs)); // [ 0, 1, 4, 9 ]

await tray.shutdown();
