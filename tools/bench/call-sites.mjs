#!/usr/bin/env node
// What recording call sites costs (TRAY_RECORD_REF_CREATION_SITES=1, Ray's
// RAY_record_ref_creation_sites): the driver's CPU per `tray.put` of a small value and per
// `f.remote()` (batches of 1,000, then one get), with recording on and off, in interleaved rounds
// (on, off, off, on, ...), each a fresh driver on its own local cluster. Only the driver does the
// recording (a stack capture per put or per call), so its process.cpuUsage() is the measure; wall
// time is printed beside it. Prints the added CPU-µs per put and per task and the load average.
//   node tools/bench/call-sites.mjs [--rounds 4] [--ops 5000] [--json]
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && Number(args[i + 1]) > 0 ? Number(args[i + 1]) : fallback;
};
const ROUNDS = arg('--rounds', 4);
const OPS = arg('--ops', 5000);
const core = pathToFileURL(path.join(root, 'packages/core/dist/index.js')).href;

const DRIVER = `
const tray = await import(${JSON.stringify(core)});
await tray.init({ numCpus: 2, includeDashboard: false });
const f = tray.remote(() => 1);
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
// Warm up both paths.
for (let i = 0; i < 500; i++) await tray.put(i);
await tray.get(Array.from({ length: 500 }, () => f.remote()));
let c = cpu(); let t = performance.now();
const keep = [];
for (let i = 0; i < ${OPS}; i++) keep.push(await tray.put({ i }));
const put = { cpuUs: (cpu() - c) / ${OPS}, wallUs: ((performance.now() - t) * 1000) / ${OPS} };
keep.length = 0;
c = cpu(); t = performance.now();
for (let done = 0; done < ${OPS}; done += 1000) {
  await tray.get(Array.from({ length: Math.min(1000, ${OPS} - done) }, () => f.remote()));
}
const task = { cpuUs: (cpu() - c) / ${OPS}, wallUs: ((performance.now() - t) * 1000) / ${OPS} };
console.log('RESULT ' + JSON.stringify({ put, task }));
await tray.shutdown();
`;

function round(on) {
  const env = { ...process.env, TRAY_RECORD_REF_CREATION_SITES: on ? '1' : '0' };
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', DRIVER], {
    env,
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line from the driver:\n${out}`);
  return JSON.parse(line.slice(7));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const results = { on: [], off: [] };
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? [true, false] : [false, true];
  for (const on of order) results[on ? 'on' : 'off'].push(round(on));
}
const summary = {};
for (const op of ['put', 'task']) {
  const on = median(results.on.map((x) => x[op].cpuUs));
  const off = median(results.off.map((x) => x[op].cpuUs));
  summary[op] = {
    cpuUsOn: +on.toFixed(1),
    cpuUsOff: +off.toFixed(1),
    addedCpuUs: +(on - off).toFixed(1),
    ratio: +(on / off).toFixed(3),
    wallUsOn: +median(results.on.map((x) => x[op].wallUs)).toFixed(1),
    wallUsOff: +median(results.off.map((x) => x[op].wallUs)).toFixed(1),
  };
}
const load = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
if (args.includes('--json')) console.log(JSON.stringify({ rounds: ROUNDS, ops: OPS, load, ...summary }));
else {
  console.log(
    `call sites on vs off, ${ROUNDS} rounds of ${OPS} puts and ${OPS} tasks each (medians), load ${load}`,
  );
  for (const [op, s] of Object.entries(summary)) {
    console.log(
      `  per ${op}: driver CPU ${s.cpuUsOn} µs on, ${s.cpuUsOff} µs off: +${s.addedCpuUs} µs (${s.ratio}×); wall ${s.wallUsOn} / ${s.wallUsOff} µs`,
    );
  }
}
