#!/usr/bin/env node
// @tray/tune's search quality and decision cost, in process (no cluster: searchers and schedulers
// are pure logic). 1) The best Branin value found after N = 20, 50, 100 evaluations by random
// search (BasicVariantGenerator) and by TPESearch, over --seeds seeds each: median and the
// 25th–75th percentile spread, against Branin's known minimum 0.397887. 2) The cost per reported
// result (µs) of each scheduler, and of each searcher per trial (suggest + complete), for --trials
// trials × --results results each, fed 10 trials at a time, iteration by iteration, as a Tuner
// with 10 concurrent trials would. Costs are CPU time of this process (user + system), which a
// loaded shared machine inflates far less than wall time; wall time is printed beside it.
//   node tools/bench/tune-search.mjs [--seeds 10] [--trials 1000] [--results 100] [--json]
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tune = await import(path.join(root, 'packages/tune/dist/index.js'));

const args = process.argv.slice(2);
function numArg(name, dflt) {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    console.error(`${name} needs a positive integer, got ${args[i + 1]}`);
    process.exit(2);
  }
  return v;
}
const SEEDS = numArg('--seeds', 10);
const TRIALS = numArg('--trials', 1000);
const RESULTS = numArg('--results', 100);
const json = args.includes('--json');
const BRANIN_MIN = 0.397887;

function branin({ x1, x2 }) {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

const base = (id, i) => ({
  trial_id: id,
  training_iteration: i,
  time_total_s: i,
  time_this_iter_s: 1,
  timestamp: 0,
});

/** Best Branin value after n sequential evaluations. */
function bestAfter(searcher, seed, n) {
  searcher.setSearchProperties({
    metric: 'loss',
    mode: 'min',
    paramSpace: { x1: tune.uniform(-5, 10), x2: tune.uniform(0, 15) },
    numSamples: n,
    seed,
  });
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const id = `t${i}`;
    const config = searcher.suggest(id);
    const loss = branin(config);
    best = Math.min(best, loss);
    searcher.onTrialComplete(id, { ...base(id, 1), loss });
  }
  return best;
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  const r = (p / 100) * (s.length - 1);
  const lo = Math.floor(r);
  return s[lo] + (s[Math.ceil(r)] - s[lo]) * (r - lo);
}
const round = (v, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

/** Runs fn; returns its result with the CPU and wall microseconds it took. */
function timed(fn) {
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  const value = fn();
  const cpu = process.cpuUsage(cpu0);
  return { value, cpuUs: cpu.user + cpu.system, wallUs: Number(process.hrtime.bigint() - wall0) / 1000 };
}

const quality = {};
for (const n of [20, 50, 100]) {
  for (const [name, make] of [
    ['random', () => new tune.BasicVariantGenerator()],
    ['tpe', () => new tune.TPESearch()],
  ]) {
    const bests = [];
    for (let seed = 1; seed <= SEEDS; seed++) bests.push(bestAfter(make(), seed, n));
    quality[`${name}_${n}`] = {
      median: round(pct(bests, 50)),
      p25: round(pct(bests, 25)),
      p75: round(pct(bests, 75)),
      gap_median: round(pct(bests, 50) - BRANIN_MIN),
    };
  }
}

/** A context over trial views whose status the loop keeps. */
function context() {
  const views = new Map();
  return {
    views,
    trials: () => [...views.values()],
    stopTrial(id) {
      const v = views.get(id);
      if (v) views.set(id, { ...v, status: 'TERMINATED' });
    },
  };
}

/** Feeds TRIALS × RESULTS results (fewer when trials stop) to a scheduler; µs per result. */
function schedulerCost(make) {
  const s = make();
  s.setSearchProperties('loss', 'min');
  const ctx = context();
  let results = 0;
  const { cpuUs, wallUs } = timed(() => {
    for (let first = 0; first < TRIALS; first += 10) {
      const batch = [];
      for (let k = first; k < Math.min(first + 10, TRIALS); k++) {
        const id = `t${k}`;
        const view = { id, config: { lr: 0.01 + (k % 97) / 1000 }, status: 'RUNNING', hasCheckpoint: true };
        ctx.views.set(id, view);
        s.onTrialAdd(ctx, view);
        batch.push({ id, quality: (k * 7919) % 1000 });
      }
      for (let i = 1; i <= RESULTS; i++) {
        let freed = false;
        let running = false;
        for (const t of batch) {
          const v = ctx.views.get(t.id);
          if (v.status !== 'RUNNING') continue;
          running = true;
          const d = s.onTrialResult(ctx, v, { ...base(t.id, i), loss: t.quality / i });
          results++;
          if (d === 'STOP') ctx.views.set(t.id, { ...v, status: 'TERMINATED' });
          else if (d === 'PAUSE') ctx.views.set(t.id, { ...v, status: 'PAUSED' });
          else if (typeof d === 'object') ctx.views.set(t.id, { ...v, config: d.exploit.config });
          if (d !== 'CONTINUE' && typeof d !== 'object') freed = true;
        }
        // what a Tuner does when trials pause or stop: run what the scheduler picks for the freed slots
        if (freed) {
          for (
            let pick = s.chooseTrialToRun(ctx);
            pick && pick.status !== 'RUNNING';
            pick = s.chooseTrialToRun(ctx)
          ) {
            ctx.views.set(pick.id, { ...pick, status: 'RUNNING' });
          }
        } else if (!running) break;
      }
      for (const t of batch) {
        const v = ctx.views.get(t.id);
        if (v.status === 'RUNNING' || v.status === 'PAUSED') {
          ctx.views.set(t.id, { ...v, status: 'TERMINATED' });
          s.onTrialComplete(ctx, ctx.views.get(t.id), undefined);
        }
      }
    }
  });
  return {
    us_per_result: round(cpuUs / results, 3),
    wall_us_per_result: round(wallUs / results, 3),
    results,
  };
}

/** suggest + onTrialComplete for TRIALS trials; µs per trial. */
function searcherCost(make) {
  const s = make();
  s.setSearchProperties({
    metric: 'loss',
    mode: 'min',
    paramSpace: { x1: tune.uniform(-5, 10), x2: tune.uniform(0, 15), k: tune.choice(['a', 'b', 'c']) },
    numSamples: TRIALS,
    seed: 1,
  });
  const { cpuUs, wallUs } = timed(() => {
    for (let i = 0; i < TRIALS; i++) {
      const id = `t${i}`;
      const c = s.suggest(id);
      s.onTrialComplete(id, { ...base(id, 1), loss: branin(c) });
    }
  });
  return { us_per_trial: round(cpuUs / TRIALS, 2), wall_us_per_trial: round(wallUs / TRIALS, 2) };
}

const schedulers = {
  fifo: schedulerCost(() => new tune.FIFOScheduler()),
  asha: schedulerCost(() => new tune.ASHAScheduler()),
  hyperband: schedulerCost(() => new tune.HyperBandScheduler()),
  median_stopping: schedulerCost(
    () => new tune.MedianStoppingRule({ timeAttr: 'training_iteration', gracePeriod: 5 }),
  ),
  pbt: schedulerCost(
    () =>
      new tune.PopulationBasedTraining({
        timeAttr: 'training_iteration',
        perturbationInterval: 10,
        hyperparamMutations: { lr: tune.loguniform(1e-4, 1) },
        seed: 1,
      }),
  ),
};
const searchers = {
  random: searcherCost(() => new tune.BasicVariantGenerator()),
  tpe: searcherCost(() => new tune.TPESearch()),
};

const out = {
  branin_min: BRANIN_MIN,
  seeds: SEEDS,
  quality,
  tpe_vs_random_median_100: round(quality.tpe_100.median / quality.random_100.median, 3),
  trials: TRIALS,
  results_per_trial: RESULTS,
  scheduler_us_per_result: Object.fromEntries(
    Object.entries(schedulers).map(([k, v]) => [k, v.us_per_result]),
  ),
  scheduler_wall_us_per_result: Object.fromEntries(
    Object.entries(schedulers).map(([k, v]) => [k, v.wall_us_per_result]),
  ),
  scheduler_results: Object.fromEntries(Object.entries(schedulers).map(([k, v]) => [k, v.results])),
  searcher_us_per_trial: Object.fromEntries(Object.entries(searchers).map(([k, v]) => [k, v.us_per_trial])),
  searcher_wall_us_per_trial: Object.fromEntries(
    Object.entries(searchers).map(([k, v]) => [k, v.wall_us_per_trial]),
  ),
  load_1m: Math.round(os.loadavg()[0] * 100) / 100,
};

if (!json) {
  console.log(`Branin, best after N evaluations over ${SEEDS} seeds (minimum ${BRANIN_MIN}):`);
  for (const n of [20, 50, 100]) {
    const r = quality[`random_${n}`];
    const t = quality[`tpe_${n}`];
    console.log(
      `  N=${String(n).padStart(3)}  random median ${r.median} [${r.p25}, ${r.p75}]   tpe median ${t.median} [${t.p25}, ${t.p75}]`,
    );
  }
  console.log(`scheduler cost per result, ${TRIALS} trials × up to ${RESULTS} results:`);
  for (const [k, v] of Object.entries(schedulers))
    console.log(
      `  ${k.padEnd(16)} ${v.us_per_result} µs CPU (${v.wall_us_per_result} µs wall; ${v.results} results)`,
    );
  console.log('searcher cost per trial (suggest + complete):');
  for (const [k, v] of Object.entries(searchers)) {
    console.log(`  ${k.padEnd(16)} ${v.us_per_trial} µs CPU (${v.wall_us_per_trial} µs wall)`);
  }
}
console.log(JSON.stringify(out));
