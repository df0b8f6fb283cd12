#!/usr/bin/env node
// The dashboard's (and GCS's and raylet's) memory over a long run (issue 12: a soak with 1M tasks
// shows a flat RSS). A head node as a user starts it (`tray start --head` with its dashboard, in a
// private TMPDIR), one driver submitting `--tasks` tasks in batches of 1,000 (bounded by `--max-s`),
// and every `--sample-s` seconds: the RSS of the dashboard, GCS, raylet and driver (/proc), after
// asking the dashboard what a user's browser would (GET /api/v0/tasks?limit=1000 and
// /api/v0/tasks/summarize, whose times are reported too). The result: each process's RSS at the
// start, after warm-up and at the end, and its slope after warm-up (the first 20% of the
// samples) in MiB per 100k tasks — flat is about 0.
//   node tools/bench/dashboard-soak.mjs [--tasks 1000000] [--max-s 900] [--sample-s 5] [--json]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'packages/cli/dist/bin.js');
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && Number(args[i + 1]) > 0 ? Number(args[i + 1]) : fallback;
};
const TASKS = arg('--tasks', 1_000_000);
const MAX_S = arg('--max-s', 900);
const SAMPLE_S = arg('--sample-s', 5);
const json = args.includes('--json');
const BATCH = 1000;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tray-soak-'));
const env = { ...process.env, TMPDIR: tmp };
delete env.TRAY_ADDRESS;
const cli = (cmd) => execFileSync(process.execPath, [bin, ...cmd], { env, encoding: 'utf8' });

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

const loadStart = os.loadavg()[0];
cli(['start', '--head', '--port', '0', '--num-cpus', '2', '--dashboard-port', '0']);
try {
  const record = JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));
  const token = readFileSync(record.tokenFile, 'utf8').trim();
  process.env.TMPDIR = tmp;
  process.env.TRAY_TOKEN = token;
  const tray = await import(path.join(root, 'packages/core/dist/index.js'));
  await tray.init({ address: record.gcsAddress });
  const f = tray.remote(() => 'ok');
  const pids = {
    dashboard: record.pids.dashboard,
    gcs: record.pids.gcs,
    raylet: record.pids.raylet,
    driver: process.pid,
  };
  const samples = [];
  const ask = async (route) => {
    const t0 = performance.now();
    const res = await fetch(`${record.dashboardUrl}${route}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${route}: ${res.status}`);
    return performance.now() - t0;
  };
  const sample = async (tasks) => {
    const listMs = await ask('/api/v0/tasks?limit=1000');
    const summaryMs = await ask('/api/v0/tasks/summarize');
    const rss = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rssMiB(pid)]));
    samples.push({ tasks, s: (performance.now() - t0) / 1000, rss, listMs, summaryMs });
    process.stderr.write(
      `${tasks} tasks, ${Math.round(samples.at(-1).s)} s: ${Object.entries(rss)
        .map(([k, v]) => `${k} ${v.toFixed(0)} MiB`)
        .join(', ')}; list ${listMs.toFixed(0)} ms, summary ${summaryMs.toFixed(0)} ms\n`,
    );
  };
  const t0 = performance.now();
  let done = 0;
  await sample(0);
  let next = performance.now() + SAMPLE_S * 1000;
  while (done < TASKS && performance.now() - t0 < MAX_S * 1000) {
    await tray.get(Array.from({ length: BATCH }, () => f.remote()));
    done += BATCH;
    if (performance.now() >= next) {
      await sample(done);
      next = performance.now() + SAMPLE_S * 1000;
    }
  }
  await sample(done);
  const wallS = (performance.now() - t0) / 1000;
  await tray.shutdown();
  const warm = samples.slice(Math.floor(samples.length * 0.2));
  const result = {
    tasks: done,
    wall_s: Math.round(wallS),
    tasks_per_s: Math.round(done / wallS),
    rss_mib: Object.fromEntries(
      Object.keys(pids).map((k) => [
        k,
        {
          start: Number(samples[0].rss[k].toFixed(1)),
          after_warmup: Number(warm[0].rss[k].toFixed(1)),
          end: Number(samples.at(-1).rss[k].toFixed(1)),
          slope_mib_per_100k_tasks: Number(
            (slope(warm.map((s) => [s.tasks, s.rss[k]])) * 100_000).toFixed(2),
          ),
        },
      ]),
    ),
    list_ms_median: warm.map((s) => s.listMs).sort((a, b) => a - b)[Math.floor(warm.length / 2)],
    load_1m: { start: Number(loadStart.toFixed(2)), end: Number(os.loadavg()[0].toFixed(2)) },
  };
  if (json) process.stdout.write(`${JSON.stringify({ dashboard_soak: result })}\n`);
  else console.log(JSON.stringify(result, null, 2));
} finally {
  try {
    cli(['stop']);
  } catch {}
  rmSync(tmp, { recursive: true, force: true });
}
