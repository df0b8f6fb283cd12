#!/usr/bin/env node
// tray.init() → first task result (issue 17: ≤ 500 ms in a fresh process, ≤ 400 ms after a
// shutdown() in the same process). Each sample runs in a child process of its own:
//   fresh   the child imports @tray/core, inits (2 CPUs), gets one trivial task's result, shuts
//           down: the milliseconds from init() to the result;
//   again   the child does that once untimed, then --repeats times timed (init after a shutdown).
// Fresh and again samples are interleaved (A B A B …) so that both see the same machine load. On
// a shared machine wall time says little, so each sample also reports the CPU time of the whole
// process tree it started (the child, GCS, raylet, workers, runtime-env agent, dashboard: all are
// reaped descendants, so the kernel adds their time to this process's children's), which does
// not depend on how busy the other cores are.
//   node tools/bench/init.mjs [--json] [--samples 5] [--repeats 3] [--no-dashboard]
// Needs the built workspace (`npm run build`).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { median, wholeNumberOption } from './lib.mjs';

const SAMPLE_TIMEOUT_MS = 120_000;
const TASK_TIMEOUT_MS = 60_000;

function options(args) {
  const usage = 'node tools/bench/init.mjs [--json] [--samples 5] [--repeats 3] [--no-dashboard]';
  const option = (name, fallback) => wholeNumberOption(name, fallback, usage, { args });
  return {
    json: args.includes('--json'),
    samples: option('--samples', 5),
    repeats: option('--repeats', 3),
    dashboard: !args.includes('--no-dashboard'),
  };
}

// ---------------------------------------------------------------- the child: one driver

async function child(mode, repeats, dashboard) {
  let tray;
  try {
    tray = await import('@tray/core');
  } catch (err) {
    console.error(`cannot load @tray/core (${err.message.split('\n')[0]}); run: npm run build`);
    process.exit(1);
  }
  const once = async () => {
    const start = performance.now();
    await tray.init({ numCpus: 2, ...(dashboard ? {} : { includeDashboard: false }) });
    const f = tray.remote((x) => x + 1);
    const value = await tray.get(f.remote(1), { timeoutMs: TASK_TIMEOUT_MS });
    const ms = performance.now() - start;
    await tray.shutdown();
    if (value !== 2) throw new Error(`the first task returned ${value}, expected 2`);
    return ms;
  };
  const ms = [];
  if (mode === 'fresh') ms.push(await once());
  else {
    await once();
    for (let i = 0; i < repeats; i++) ms.push(await once());
  }
  process.stdout.write(`${JSON.stringify({ ms })}\n`);
}

// ---------------------------------------------------------------- the parent

const TICK_MS = 10; // USER_HZ = 100 on Linux
/** CPU ms of this process's reaped descendants (/proc/self/stat cutime + cstime). */
function childrenCpuMs() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
}

function runChild(mode, opts) {
  const before = childrenCpuMs();
  const args = [fileURLToPath(import.meta.url), '--child', mode, String(opts.repeats)];
  if (!opts.dashboard) args.push('--no-dashboard');
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), SAMPLE_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`exited with ${signal ?? code}`);
        const { ms } = JSON.parse(out.trim().split('\n').pop() ?? '');
        // The tree's CPU: a fresh sample is one init; an `again` one is 1 + repeats.
        const inits = mode === 'fresh' ? 1 : 1 + opts.repeats;
        resolve({ ms, cpuMsPerInit: (childrenCpuMs() - before) / inits });
      } catch (err) {
        reject(new Error(`${mode} sample failed: ${err.message}${out ? `; output: ${out.trim()}` : ''}`));
      }
    });
  });
}

const spread = (xs) => ({
  min: Math.round(Math.min(...xs)),
  median: Math.round(median(xs)),
  max: Math.round(Math.max(...xs)),
});

async function main() {
  const opts = options(process.argv.slice(2));
  const fresh = [];
  const again = [];
  const freshCpu = [];
  const againCpu = [];
  for (let i = 0; i < opts.samples; i++) {
    // A B A B …, who goes first alternating.
    const order = i % 2 === 0 ? ['fresh', 'again'] : ['again', 'fresh'];
    for (const mode of order) {
      const { ms, cpuMsPerInit } = await runChild(mode, opts);
      if (mode === 'fresh') {
        fresh.push(...ms);
        freshCpu.push(cpuMsPerInit);
      } else {
        again.push(...ms);
        againCpu.push(cpuMsPerInit);
      }
    }
  }
  const result = {
    fresh_ms: spread(fresh),
    again_ms: spread(again),
    fresh_tree_cpu_ms: spread(freshCpu),
    again_tree_cpu_ms_per_init: spread(againCpu),
    fresh_samples_ms: fresh.map(Math.round),
    again_samples_ms: again.map(Math.round),
    samples: opts.samples,
    repeats: opts.repeats,
    dashboard: opts.dashboard,
    load_1m: Math.round(loadavg()[0] * 100) / 100,
  };
  const row = (name, s, note = '') =>
    console.log(`${name.padEnd(34)} ${`${s.min} / ${s.median} / ${s.max}`.padStart(20)}  ${note}`.trimEnd());
  console.log(
    `tray.init() → first result, ${opts.samples} interleaved samples each (again: ${opts.repeats} per process); min / median / max${opts.dashboard ? '' : '; includeDashboard: false'}`,
  );
  row(
    'fresh process (ms)',
    result.fresh_ms,
    `target ≤ 500: ${result.fresh_ms.median <= 500 ? 'met' : 'MISSED'}`,
  );
  row(
    'after shutdown, same process (ms)',
    result.again_ms,
    `target ≤ 400: ${result.again_ms.median <= 400 ? 'met' : 'MISSED'}`,
  );
  row('CPU of the process tree, fresh (ms)', result.fresh_tree_cpu_ms, 'all processes, per init');
  row(
    'CPU of the process tree, again (ms)',
    result.again_tree_cpu_ms_per_init,
    'per init, the first included',
  );
  console.log(
    `${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, node ${process.version}, load ${result.load_1m}`,
  );
  if (opts.json) console.log(JSON.stringify(result));
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], Number(process.argv[4]), !process.argv.includes('--no-dashboard'));
} else {
  await main();
}
