#!/usr/bin/env node
// What Prometheus metrics cost the task hot path: `tray microbenchmark` of one key (default
// single_client_tasks_async) with the metrics on and off (TRAY_METRICS=0 in the cluster's
// environment: the raylet and the GCS serve nothing and observe nothing), interleaved ABBA so a
// machine whose load drifts weighs on both alike. Prints each run, the medians and the geometric
// mean of the on/off ratios of neighbouring runs (1.00: no difference). `--json` also prints one
// JSON line last: { key, on, off, median_on, median_off, ratio_geomean, loadavg }.
// Options: --pairs 6 --key single_client_tasks_async --round-ms 1500 --rounds 3.
// Needs the built workspace (`npm run build`).
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : process.argv[at + 1];
}
const pairs = Number(option('--pairs', '6'));
const key = option('--key', 'single_client_tasks_async');
const roundMs = option('--round-ms', '1500');
const rounds = option('--rounds', '3');
if (!Number.isInteger(pairs) || pairs < 1) {
  console.error(`--pairs must be a whole number ≥ 1, got '${option('--pairs')}'`);
  process.exit(2);
}
const bin = path.join(import.meta.dirname, '..', '..', 'packages', 'cli', 'dist', 'bin.js');

function run(on) {
  const env = { ...process.env };
  if (on) delete env.TRAY_METRICS;
  else env.TRAY_METRICS = '0';
  const out = execFileSync(
    process.execPath,
    [bin, 'microbenchmark', '--filter', key, '--json', '--rounds', rounds, '--round-ms', roundMs],
    { env, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const value = JSON.parse(out.trim().split('\n').pop())[key];
  if (typeof value !== 'number') throw new Error(`the microbenchmark printed no ${key}`);
  return value;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const on = [];
const off = [];
let logRatios = 0;
for (let i = 0; i < pairs; i++) {
  // ABBA: on,off then off,on.
  const order = i % 2 === 0 ? [true, false] : [false, true];
  const got = {};
  for (const mode of order) {
    got[mode] = run(mode);
    (mode ? on : off).push(got[mode]);
    console.log(
      `${mode ? 'on ' : 'off'} ${got[mode].toFixed(0).padStart(8)} ops/s  (load ${loadavg()[0].toFixed(1)})`,
    );
  }
  logRatios += Math.log(got.true / got.false);
}
const result = {
  key,
  on,
  off,
  median_on: median(on),
  median_off: median(off),
  ratio_geomean: Math.exp(logRatios / pairs),
  loadavg: loadavg()[0],
};
console.log(
  `${key}: median on ${result.median_on.toFixed(0)}, off ${result.median_off.toFixed(0)} ops/s; ` +
    `on/off geometric mean of ${pairs} neighbouring pairs ${result.ratio_geomean.toFixed(3)}`,
);
if (process.argv.includes('--json')) console.log(JSON.stringify(result));
