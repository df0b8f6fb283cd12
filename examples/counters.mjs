// Actors: four Counter actors, each incremented three times. Every actor keeps its own state
// in its own worker process, and calls from one caller run in order.
// Run it with `node examples/counters.mjs` after `npm run build`.
import * as tray from '@tray/core';

await tray.init();

const Counter = tray.remote(
  class Counter {
    n = 0;
    increment() {
      this.n += 1;
      return this.n;
    }
  },
);

const counters = [0, 1, 2, 3].map(() => Counter.remote());
let last = [];
for (let i = 0; i < 3; i++) last = counters.map((c) => c.increment.remote());
console.log(await tray.get(last)); // [ 3, 3, 3, 3 ]

await tray.shutdown();
