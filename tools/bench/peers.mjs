#!/usr/bin/env node
// Compares tray's local task throughput with piscina's (the thread pool to beat, issue 6), in one
// run on the same machine: both run the same trivial function `(x) => x + 1` with 2 workers, in
// batches of 1,000 submitted at once and then awaited together (tray: `f.remote(i)` ×1000 then one
// `tray.get`; piscina: `pool.run(i)` ×1000 then `Promise.all`). Both are timed by the same harness
// (warm-up, then rounds that repeat the batch until at least --round-ms passed), their rounds
// interleaved so that each sees the same machine load; the ratio is taken per pair of neighbouring
// rounds and the median kept. Also times `tray.init()` → first task result, each sample in a fresh
// process (a user's init is cold), and keeps the median.
// Prints a table; `--json` also prints one JSON line last:
//   { tray_tasks_per_s, piscina_tasks_per_s, ratio, init_to_first_result_ms, ... }
// Options: --rounds 5 --round-ms 1000 --warmup-ms 1000 --init-samples 3.
// Needs the built workspace (`npm run build`). This file is also piscina's worker module.
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const BATCH = 1000;
const WORKERS = 2;
/** A batch that has not finished after this long means the runtime is stuck, not slow. */
const BATCH_TIMEOUT_MS = 60_000;
const INIT_SAMPLE_TIMEOUT_MS = 60_000;

/** piscina's task: the same trivial work as tray's remote function. */
export default function addOne(x) {
  return x + 1;
}

function options(args) {
  const option = (name, fallback, min) => {
    const at = args.indexOf(name);
    if (at < 0) return fallback;
    const value = Number(args[at + 1]);
    if (!Number.isInteger(value) || value < min) {
      console.error(`${name} must be a whole number ≥ ${min}, got '${args[at + 1] ?? ''}'`);
      console.error(
        'usage: node tools/bench/peers.mjs [--json] [--rounds 5] [--round-ms 1000] [--warmup-ms 1000] [--init-samples 3]',
      );
      process.exit(2);
    }
    return value;
  };
  return {
    json: args.includes('--json'),
    rounds: option('--rounds', 5, 1),
    roundMs: option('--round-ms', 1000, 1),
    warmupMs: option('--warmup-ms', 1000, 0),
    initSamples: option('--init-samples', 3, 1),
  };
}

async function loadTray() {
  try {
    return await import('@tray/core');
  } catch (err) {
    console.error(`cannot load @tray/core (${err.message.split('\n')[0]}); run: npm run build`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------- harness (same for both)

/** Run `batch` for `ms` milliseconds; returns tasks per second. */
async function round(batch, ms) {
  const start = performance.now();
  let batches = 0;
  let elapsed = 0;
  do {
    await batch();
    batches++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (batches * BATCH) / (elapsed / 1000);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ---------------------------------------------------------------- the two peers

async function trayPeer(tray) {
  await tray.init({ numCpus: WORKERS });
  const f = tray.remote((x) => x + 1);
  const args = Array.from({ length: BATCH }, (_, i) => i);
  return {
    batch: async () => {
      const values = await tray.get(
        args.map((i) => f.remote(i)),
        { timeoutMs: BATCH_TIMEOUT_MS },
      );
      if (values[BATCH - 1] !== BATCH) throw new Error(`tray returned ${values[BATCH - 1]} for ${BATCH - 1}`);
    },
    close: () => tray.shutdown(),
  };
}

async function piscinaPeer() {
  const { Piscina } = await import('piscina');
  // Fixed at 2 threads, kept alive between rounds (no idle reaping, no thread start in a round).
  const pool = new Piscina({
    filename: import.meta.url,
    minThreads: WORKERS,
    maxThreads: WORKERS,
    idleTimeout: Number.POSITIVE_INFINITY,
  });
  const args = Array.from({ length: BATCH }, (_, i) => i);
  return {
    batch: async () => {
      const values = await Promise.all(args.map((i) => pool.run(i)));
      if (values[BATCH - 1] !== BATCH)
        throw new Error(`piscina returned ${values[BATCH - 1]} for ${BATCH - 1}`);
    },
    close: () => pool.destroy(),
  };
}

// ---------------------------------------------------------------- init → first result

/** One sample, run in a fresh process: prints the milliseconds from init() to the first value. */
async function initSample() {
  const tray = await loadTray();
  const start = performance.now();
  await tray.init({ numCpus: WORKERS });
  const f = tray.remote((x) => x + 1);
  const value = await tray.get(f.remote(1), { timeoutMs: INIT_SAMPLE_TIMEOUT_MS });
  const ms = performance.now() - start;
  await tray.shutdown();
  if (value !== 2) throw new Error(`first task returned ${value}, expected 2`);
  process.stdout.write(`${JSON.stringify({ init_to_first_result_ms: ms })}\n`);
}

function runInitSample() {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--init-sample'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), INIT_SAMPLE_TIMEOUT_MS + 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exited with ${signal ?? code}`);
        resolve(JSON.parse(line).init_to_first_result_ms);
      } catch (err) {
        reject(new Error(`init sample failed: ${err.message}${out ? `; output: ${out.trim()}` : ''}`));
      }
    });
  });
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = options(process.argv.slice(2));
  const tray = await loadTray();

  const initMs = [];
  for (let i = 0; i < opts.initSamples; i++) initMs.push(await runInitSample());

  const peers = {};
  try {
    peers.tray = await trayPeer(tray);
    peers.piscina = await piscinaPeer();
    for (const peer of Object.values(peers)) await round(peer.batch, opts.warmupMs);
    const per = { tray: [], piscina: [] };
    const ratios = [];
    for (let r = 0; r < opts.rounds; r++) {
      // Alternate which goes first so neither always follows the other's leftovers.
      const order = r % 2 === 0 ? ['tray', 'piscina'] : ['piscina', 'tray'];
      for (const name of order) per[name].push(await round(peers[name].batch, opts.roundMs));
      ratios.push(per.tray[r] / per.piscina[r]);
    }
    const result = {
      tray_tasks_per_s: Math.round(median(per.tray)),
      piscina_tasks_per_s: Math.round(median(per.piscina)),
      ratio: round3(median(ratios)),
      init_to_first_result_ms: Math.round(median(initMs)),
      init_samples_ms: initMs.map((ms) => Math.round(ms)),
      tray_rounds: per.tray.map(Math.round),
      piscina_rounds: per.piscina.map(Math.round),
      rounds: opts.rounds,
      round_ms: opts.roundMs,
      warmup_ms: opts.warmupMs,
      batch: BATCH,
      workers: WORKERS,
      load_1m: Math.round(loadavg()[0] * 100) / 100,
    };
    report(result);
    if (opts.json) console.log(JSON.stringify(result));
  } finally {
    for (const peer of Object.values(peers)) await peer.close();
  }
}

function report(r) {
  const rows = [
    ['tray tasks', `${r.tray_tasks_per_s.toLocaleString('en-US')} /s`, `rounds: ${r.tray_rounds.join(', ')}`],
    [
      'piscina tasks',
      `${r.piscina_tasks_per_s.toLocaleString('en-US')} /s`,
      `rounds: ${r.piscina_rounds.join(', ')}`,
    ],
    ['tray / piscina', `${r.ratio}`, `target ≥ 1.0: ${r.ratio >= 1 ? 'met' : 'MISSED'}`],
    [
      'init → first result',
      `${r.init_to_first_result_ms} ms`,
      `samples: ${r.init_samples_ms.join(', ')}; target ≤ 1000 ms: ${r.init_to_first_result_ms <= 1000 ? 'met' : 'MISSED'}`,
    ],
  ];
  console.log(
    `peers benchmark: ${WORKERS} workers, (x) => x + 1 in batches of ${BATCH}, median of ${r.rounds} interleaved rounds of ≥ ${r.round_ms} ms after ${r.warmup_ms} ms warm-up`,
  );
  const width = Math.max(...rows.map((row) => row[0].length));
  for (const [name, value, note] of rows)
    console.log(`${name.padEnd(width)}  ${value.padStart(12)}  ${note}`);
  console.log(
    `${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, node ${process.version}, ${process.platform}, load ${r.load_1m}`,
  );
}

const round3 = (x) => Math.round(x * 1000) / 1000;

if (isMainThread) {
  if (process.argv[2] === '--init-sample') await initSample();
  else await main();
}
