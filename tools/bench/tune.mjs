#!/usr/bin/env node
// @tray/tune's own costs on a local cluster: trial throughput with a trivial trainable (one
// report per trial; a fresh actor and placement group per trial, and with reuseActors), the
// Tuner's overhead per reported result (one trial reporting --results times, minus a plain actor
// call round trip measured the same way: what tune adds for the pause at tune.report, the
// scheduler, the result files and experiment_state.json), and the tuning quality of random search
// vs TPE: the best Branin value (global minimum 0.397887) after --quality-trials trials each, over
// real trials. Prints a table; `--json` also prints one JSON line last:
//   { trials_per_s, trials_per_s_reuse, tune_ms_per_result, actor_call_ms, overhead_ms_per_result,
//     branin_random_best, branin_tpe_best, loadavg_1m, ... }
// Options: --trials 40 --results 1000 --quality-trials 40 --cpus 2. Needs `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as tune from '@tray/tune';
import { wholeNumberOption } from './lib.mjs';

const USAGE =
  'node tools/bench/tune.mjs [--json] [--trials 40] [--results 1000] [--quality-trials 40] [--cpus 2]';
const option = (name, fallback) => wholeNumberOption(name, fallback, USAGE);

const TRIALS = option('--trials', 40);
const RESULTS = option('--results', 1000);
const QUALITY_TRIALS = option('--quality-trials', 40);
const CPUS = option('--cpus', 2);
const json = process.argv.includes('--json');
const storagePath = mkdtempSync(path.join(tmpdir(), 'tray-bench-tune-'));
let runs = 0;

async function runExperiment(trainable, paramSpace, tuneConfig = {}) {
  const started = performance.now();
  const grid = await new tune.Tuner(trainable, {
    paramSpace,
    tuneConfig,
    runConfig: { name: `run${runs++}`, storagePath, verbose: 0 },
  }).fit();
  if (grid.errors.length > 0) throw grid.errors[0];
  return { grid, seconds: (performance.now() - started) / 1000 };
}

async function trivial(config) {
  await tune.report({ value: config.i });
}

async function many(config) {
  for (let i = 0; i < config.n; i++) await tune.report({ i });
}

/** Branin-Hoo on x1 ∈ [−5, 10], x2 ∈ [0, 15]; minimum 0.397887 at three points. */
async function branin(config) {
  const { x1, x2 } = config;
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  await tune.report({ loss: (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10 });
}

class Echo {
  ping(i) {
    return i;
  }
}

await tray.init({ numCpus: CPUS, includeDashboard: false });
try {
  await runExperiment(trivial, { i: tune.gridSearch([0, 1]) }); // warm-up: workers started, modules loaded
  const space = { i: tune.gridSearch(Array.from({ length: TRIALS }, (_, i) => i)) };
  const fresh = await runExperiment(trivial, space);
  const reused = await runExperiment(trivial, space, { reuseActors: true });

  const perResult = await runExperiment(many, { n: RESULTS });
  const echo = tray.remote(Echo).remote();
  await tray.get(echo.ping.remote(0));
  const callsStarted = performance.now();
  for (let i = 0; i < RESULTS; i++) await tray.get(echo.ping.remote(i));
  const actorCallMs = (performance.now() - callsStarted) / RESULTS;
  await tray.kill(echo);
  const tuneMs = (perResult.seconds * 1000) / RESULTS;

  const brSpace = { x1: tune.uniform(-5, 10), x2: tune.uniform(0, 15) };
  const best = (g) => g.getBestResult('loss', 'min').metrics.loss;
  const quality = { metric: 'loss', mode: 'min', numSamples: QUALITY_TRIALS, seed: 1 };
  const random = await runExperiment(branin, brSpace, quality);
  const tpe = await runExperiment(branin, brSpace, {
    ...quality,
    searchAlg: new tune.TPESearch({ seed: 1 }),
  });

  const result = {
    cpus: CPUS,
    machine_cpus: cpus().length,
    trials: TRIALS,
    trials_per_s: Number((TRIALS / fresh.seconds).toFixed(2)),
    trials_per_s_reuse: Number((TRIALS / reused.seconds).toFixed(2)),
    results: RESULTS,
    tune_ms_per_result: Number(tuneMs.toFixed(3)),
    actor_call_ms: Number(actorCallMs.toFixed(3)),
    overhead_ms_per_result: Number((tuneMs - actorCallMs).toFixed(3)),
    quality_trials: QUALITY_TRIALS,
    branin_random_best: Number(best(random.grid).toFixed(4)),
    branin_tpe_best: Number(best(tpe.grid).toFixed(4)),
    branin_minimum: 0.397887,
    loadavg_1m: Number(loadavg()[0].toFixed(2)),
  };
  console.log(`tune on ${CPUS} CPUs (machine: ${result.machine_cpus} cores, load ${result.loadavg_1m})`);
  console.log(
    `  trials/s, trivial trainable:       ${result.trials_per_s} (reuseActors: ${result.trials_per_s_reuse})`,
  );
  console.log(`  per reported result:               ${result.tune_ms_per_result} ms`);
  console.log(`  plain actor call round trip:       ${result.actor_call_ms} ms`);
  console.log(`  tune's overhead per result:        ${result.overhead_ms_per_result} ms`);
  console.log(
    `  Branin best of ${QUALITY_TRIALS}: random ${result.branin_random_best}, TPE ${result.branin_tpe_best} (minimum 0.3979)`,
  );
  if (json) console.log(JSON.stringify(result));
} finally {
  await tray.shutdown();
  rmSync(storagePath, { recursive: true, force: true });
}
