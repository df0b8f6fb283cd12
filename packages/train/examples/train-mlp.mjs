// Trains the MLP of mlp.mjs data-parallel on 2 workers (gradients averaged by allReduce) and on
// 1 worker, same data and steps, and prints both loss curves and the largest parameter
// difference. Run from the repo after `npm run build`: node packages/train/examples/train-mlp.mjs
import * as tray from '@tray/core';
import * as train from '@tray/train';

const MODULE = new URL('./mlp.mjs', import.meta.url).href;
const loop = tray.remote(async (_config) => undefined, { module: MODULE, exportName: 'trainMlp' });
const config = { rows: 2048, batchSize: 64, epochs: 5, lr: 0.1 };

await tray.init({ numCpus: 2 });
const fit = (numWorkers) =>
  new train.DataParallelTrainer(loop, {
    trainLoopConfig: config,
    scalingConfig: { numWorkers },
    runConfig: {
      name: `mlp-${numWorkers}w-${Date.now()}`,
      storagePath: `${process.env.TMPDIR ?? '/tmp'}/tray-train-mlp`,
    },
  }).fit();
const two = await fit(2);
const one = await fit(1);
await tray.shutdown();
for (const r of [two, one]) if (r.error) throw r.error;
const diff = Math.max(...two.metrics.params.map((p, i) => Math.abs(p - one.metrics.params[i])));
console.log('loss, 2 workers:', two.metricsHistory.map((m) => m.loss.toFixed(4)).join(' '));
console.log('loss, 1 worker: ', one.metricsHistory.map((m) => m.loss.toFixed(4)).join(' '));
console.log(`largest parameter difference after the same steps: ${diff.toExponential(2)}`);
