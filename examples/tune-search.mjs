// Tune: a grid search on a local cluster with @tray/tune. Four trials (x = 0..3), each an actor
// reporting a loss five times; the Tuner prints a line per trial status change and a summary,
// then this prints the number of trials and the best x (the loss is lowest at x = 2).
// Run it with `node examples/tune-search.mjs` after `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as tune from '@tray/tune';

await tray.init();
const storagePath = mkdtempSync(path.join(os.tmpdir(), 'tray-example-'));
try {
  const tuner = new tune.Tuner(
    async (config) => {
      for (let step = 1; step <= 5; step++) await tune.report({ loss: (config.x - 2) ** 2 + 1 / step });
    },
    {
      paramSpace: { x: tune.gridSearch([0, 1, 2, 3]) },
      tuneConfig: { metric: 'loss', mode: 'min' },
      runConfig: { name: 'example', storagePath },
    },
  );
  const grid = await tuner.fit();
  console.log(grid.length);
  console.log(grid.getBestResult().config.x);
} finally {
  rmSync(storagePath, { recursive: true, force: true });
  await tray.shutdown();
}
