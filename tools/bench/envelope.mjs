#!/usr/bin/env node
// Ray's scalability envelope on one machine (issue 17; Ray's release/benchmarks README): each
// scenario against one local cluster (tray.init, 2 CPUs), timed, with the RSS of every process of
// the cluster sampled from /proc (this driver and its descendants: GCS, raylet, workers, agent):
//   tasks      N tasks submitted at once from this driver, then one get of all; for each N of
//              --tasks (default 10k,100k,1M): seconds, µs per task, driver RSS peak (target < 1.5 GiB;
//              µs per task flat from 10k to 1M: no quadratic step)
//   ref-args   one task given --ref-args (10,000) ObjectRef arguments
//   get-refs   one tray.get of --get-refs (10,000) refs
//   nested     one object holding --nested-refs (100,000) refs: put, then get back
//   actors     --actors (100) actors with numCpus 0 created at once, each answering; RSS per idle
//              actor worker (target ≤ 40 MB)
//   pgs        --pgs (1,000) placement groups created, ready, removed
//   soak       --soak-s (60; the run is 600) seconds of mixed tasks, actor calls and puts;
//              every process's RSS sampled; after warm-up, its start, end and least-squares slope
//              (MB/min) per kind of process (target: flat)
// Each scenario has a deadline (--scenario-timeout-s, 600): one that passes it is reported as
// timed out and the rest still run. --only NAME[,NAME] runs some; --quick uses small sizes.
//   node tools/bench/envelope.mjs [--json] [--quick] [--only tasks,actors] [--tasks 10000,100000]
// Needs the built workspace (`npm run build`).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

const SCENARIOS = ['tasks', 'ref-args', 'get-refs', 'nested', 'actors', 'pgs', 'soak'];
const MiB = 1024 * 1024;

function usage(message) {
  console.error(message);
  console.error(
    'usage: node tools/bench/envelope.mjs [--json] [--quick] [--only NAME,...] [--tasks 10000,100000,1000000] ' +
      '[--ref-args 10000] [--get-refs 10000] [--nested-refs 100000] [--actors 100] [--pgs 1000] [--soak-s 60] ' +
      '[--scenario-timeout-s 600]',
  );
  process.exit(2);
}

function options(args) {
  const quick = args.includes('--quick');
  const value = (name) => {
    const at = args.indexOf(name);
    return at < 0 ? undefined : args[at + 1];
  };
  const count = (name, fallback) => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) usage(`${name} must be a whole number ≥ 1, got '${raw}'`);
    return n;
  };
  const only = value('--only')?.split(',').filter(Boolean);
  for (const name of only ?? []) if (!SCENARIOS.includes(name)) usage(`unknown scenario '${name}'`);
  const tasksRaw = value('--tasks');
  const tasks = tasksRaw
    ? tasksRaw.split(',').map((s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n < 1) usage(`--tasks takes whole numbers ≥ 1, got '${s}'`);
        return n;
      })
    : quick
      ? [1000, 10_000]
      : [10_000, 100_000, 1_000_000];
  return {
    json: args.includes('--json'),
    only,
    tasks,
    refArgs: count('--ref-args', quick ? 1000 : 10_000),
    getRefs: count('--get-refs', quick ? 1000 : 10_000),
    nestedRefs: count('--nested-refs', quick ? 10_000 : 100_000),
    actors: count('--actors', quick ? 10 : 100),
    pgs: count('--pgs', quick ? 50 : 1000),
    soakS: count('--soak-s', quick ? 10 : 60),
    timeoutS: count('--scenario-timeout-s', 600),
  };
}

// ---------------------------------------------------------------- processes and their RSS

/** pid → { ppid, name, rssBytes } for every process we can read. */
function processTable() {
  const table = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      table.set(Number(entry), {
        ppid: Number(fields[1]),
        rssBytes: Number(fields[21]) * 4096,
        name: roleOf(cmd),
      });
    } catch {} // gone meanwhile
  }
  return table;
}

function roleOf(cmd) {
  const script = cmd.find((a) => a.endsWith('.js') || a.endsWith('.mjs')) ?? cmd[0] ?? '?';
  if (script.endsWith('envelope.mjs')) return 'driver';
  if (script.includes('/gcs/')) return 'gcs';
  if (script.includes('agent-main')) return 'runtime-env agent';
  if (script.includes('/raylet/')) return 'raylet';
  if (script.includes('worker/main')) return 'worker';
  if (script.includes('/dashboard/')) return 'dashboard';
  return script.split('/').pop();
}

/** This process and its descendants: [{ pid, name, rssBytes }]. */
function clusterProcesses() {
  const table = processTable();
  const children = new Map();
  for (const [pid, p] of table) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  const out = [];
  const walk = (pid) => {
    const p = table.get(pid);
    if (p) out.push({ pid, name: p.name, rssBytes: p.rssBytes });
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(process.pid);
  return out;
}

/** Samples the driver's RSS every `ms` while `work` runs; resolves { value, peakRssBytes }. */
async function withRssPeak(work, ms = 200) {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, ms);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, peakRssBytes: peak };
  } finally {
    clearInterval(timer);
  }
}

const mb = (bytes) => Math.round(bytes / MiB);

function bareNodeRssMb() {
  const out = spawnSync(
    process.execPath,
    ['-e', 'setTimeout(() => console.log(process.memoryUsage().rss), 100)'],
    {
      encoding: 'utf8',
    },
  );
  return out.status === 0 ? mb(Number(out.stdout.trim())) : undefined;
}

/** Proportional and private (unshared) memory of a process, bytes (/proc/PID/smaps_rollup). */
function sharedAware(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { pss: kb('Pss'), uss: kb('Private_Clean') + kb('Private_Dirty') };
  } catch {
    return undefined;
  }
}

function withDeadline(promise, seconds, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} did not finish within ${seconds} s`)),
        seconds * 1000,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- scenarios

async function tasksScenario(tray, o) {
  const f = tray.remote((x) => x + 1);
  await tray.get(f.remote(0)); // workers up
  const rows = [];
  for (const n of o.tasks) {
    const start = performance.now();
    const { value, peakRssBytes } = await withRssPeak(async () => {
      const refs = new Array(n);
      for (let i = 0; i < n; i++) refs[i] = f.remote(i);
      const submitted = performance.now();
      const values = await tray.get(refs);
      return { submitMs: submitted - start, last: values[n - 1] };
    });
    if (value.last !== n) throw new Error(`task ${n - 1} returned ${value.last}`);
    const seconds = (performance.now() - start) / 1000;
    rows.push({
      tasks: n,
      seconds: round1(seconds),
      submit_s: round1(value.submitMs / 1000),
      us_per_task: round1((seconds * 1e6) / n),
      driver_rss_peak_mb: mb(peakRssBytes),
    });
  }
  return { runs: rows, driver_rss_target_mb: 1536 };
}

async function refArgsScenario(tray, o) {
  const refs = await Promise.all(Array.from({ length: o.refArgs }, (_, i) => tray.put(i)));
  const sum = tray.remote((...xs) => xs.reduce((a, b) => a + b, 0));
  const start = performance.now();
  const total = await tray.get(sum.remote(...refs));
  const expected = (o.refArgs * (o.refArgs - 1)) / 2;
  if (total !== expected) throw new Error(`the task summed ${total}, expected ${expected}`);
  return { ref_args: o.refArgs, seconds: round3((performance.now() - start) / 1000) };
}

async function getRefsScenario(tray, o) {
  const refs = await Promise.all(Array.from({ length: o.getRefs }, (_, i) => tray.put(i)));
  const start = performance.now();
  const values = await tray.get(refs);
  if (values[o.getRefs - 1] !== o.getRefs - 1) throw new Error('wrong value');
  return { refs: o.getRefs, seconds: round3((performance.now() - start) / 1000) };
}

async function nestedScenario(tray, o) {
  const refs = await Promise.all(Array.from({ length: o.nestedRefs }, (_, i) => tray.put(i)));
  const start = performance.now();
  const container = await tray.put(refs);
  const put = performance.now();
  const back = await tray.get(container);
  const got = performance.now();
  if (back.length !== o.nestedRefs || (await tray.get(back[o.nestedRefs - 1])) !== o.nestedRefs - 1) {
    throw new Error('the refs came back wrong');
  }
  return {
    refs: o.nestedRefs,
    put_s: round3((put - start) / 1000),
    get_s: round3((got - put) / 1000),
  };
}

async function actorsScenario(tray, o) {
  const Pinger = tray.remote(
    class Pinger {
      ping(i) {
        return i;
      }
    },
  );
  const before = new Set(clusterProcesses().map((p) => p.pid));
  const start = performance.now();
  const actors = Array.from({ length: o.actors }, () => Pinger.options({ numCpus: 0 }).remote());
  const answers = await tray.get(actors.map((a, i) => a.ping.remote(i)));
  const seconds = (performance.now() - start) / 1000;
  if (answers.some((v, i) => v !== i)) throw new Error('an actor answered wrong');
  // Idle now: the workers that appeared are the actors'.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const workers = clusterProcesses().filter((p) => p.name === 'worker' && !before.has(p.pid));
  const rss = workers.map((w) => w.rssBytes).sort((a, b) => a - b);
  // RSS counts node's own code and libraries in every process; PSS shares them out, USS leaves
  // them out (what one more actor costs).
  const shares = workers.map((w) => sharedAware(w.pid)).filter(Boolean);
  const mid = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const result = {
    actors: o.actors,
    seconds: round1(seconds),
    actor_workers: workers.length,
    rss_per_idle_actor_worker_mb: rss.length ? mb(rss[rss.length >> 1]) : undefined,
    rss_per_idle_actor_worker_max_mb: rss.length ? mb(rss[rss.length - 1]) : undefined,
    pss_per_idle_actor_worker_mb: shares.length ? mb(mid(shares.map((x) => x.pss))) : undefined,
    uss_per_idle_actor_worker_mb: shares.length ? mb(mid(shares.map((x) => x.uss))) : undefined,
    // The floor: a Node process that loaded nothing.
    bare_node_rss_mb: bareNodeRssMb(),
    target_mb: 40,
  };
  for (const a of actors) await tray.kill(a);
  return result;
}

async function pgsScenario(tray, o) {
  const start = performance.now();
  const pgs = Array.from({ length: o.pgs }, () => tray.placementGroup([{ CPU: 0.001 }]));
  await Promise.all(pgs.map((pg) => pg.ready()));
  const ready = performance.now();
  for (const pg of pgs) await tray.removePlacementGroup(pg);
  return {
    placement_groups: o.pgs,
    create_ready_s: round1((ready - start) / 1000),
    remove_s: round1((performance.now() - ready) / 1000),
  };
}

async function soakScenario(tray, o) {
  const f = tray.remote((x) => x * 2);
  const Counter = tray.remote(
    class Counter {
      n = 0;
      add(k) {
        return (this.n += k);
      }
    },
  );
  const counter = Counter.options({ numCpus: 0 }).remote();
  const payload = new Uint8Array(1 * MiB).fill(7);
  const end = performance.now() + o.soakS * 1000;
  const warmupEnd = performance.now() + Math.min(o.soakS * 250, 60_000); // first quarter, ≤ 60 s
  const samples = []; // { t, byRole: { role: rssBytes (sum) } }
  const sample = () => {
    const byRole = {};
    for (const p of clusterProcesses()) byRole[p.name] = (byRole[p.name] ?? 0) + p.rssBytes;
    samples.push({ t: performance.now(), byRole });
  };
  const timer = setInterval(sample, 2000);
  let rounds = 0;
  try {
    while (performance.now() < end) {
      const refs = Array.from({ length: 100 }, (_, i) => f.remote(i));
      const big = await tray.put(payload);
      const [values, n, back] = await Promise.all([
        tray.get(refs),
        tray.get(counter.add.remote(1)),
        tray.get(big),
      ]);
      if (values[99] !== 198 || n !== rounds + 1 || back.length !== MiB) throw new Error('wrong results');
      rounds++;
    }
  } finally {
    clearInterval(timer);
  }
  sample();
  const after = samples.filter((s) => s.t >= warmupEnd);
  const first = after[0] ?? samples[0];
  const last = samples[samples.length - 1];
  const growth = {};
  for (const role of Object.keys(last.byRole)) {
    growth[role] = {
      after_warmup_mb: mb(first.byRole[role] ?? 0),
      end_mb: mb(last.byRole[role]),
      slope_mb_per_min: slopeMbPerMin(after, role),
    };
  }
  await tray.kill(counter);
  return { seconds: o.soakS, rounds, rss_by_process: growth };
}

/**
 * Least-squares slope of a role's RSS over the samples after warm-up, MB per minute: one number
 * for "flat" that a single high or low sample at either end cannot decide.
 */
function slopeMbPerMin(samples, role) {
  const points = samples.filter((s) => s.byRole[role] !== undefined);
  if (points.length < 3) return undefined;
  const xs = points.map((s) => s.t / 60_000);
  const ys = points.map((s) => s.byRole[role] / MiB);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : Math.round((num / den) * 100) / 100;
}

const round1 = (x) => Math.round(x * 10) / 10;
const round3 = (x) => Math.round(x * 1000) / 1000;

const RUN = {
  tasks: tasksScenario,
  'ref-args': refArgsScenario,
  'get-refs': getRefsScenario,
  nested: nestedScenario,
  actors: actorsScenario,
  pgs: pgsScenario,
  soak: soakScenario,
};

async function main() {
  const o = options(process.argv.slice(2));
  let tray;
  try {
    tray = await import('@tray/core');
  } catch (err) {
    console.error(`cannot load @tray/core (${err.message.split('\n')[0]}); run: npm run build`);
    process.exit(1);
  }
  await tray.init({ numCpus: 2, includeDashboard: false });
  const results = {};
  let failed = 0;
  try {
    for (const name of SCENARIOS) {
      if (o.only && !o.only.includes(name)) continue;
      const start = performance.now();
      try {
        results[name] = await withDeadline(RUN[name](tray, o), o.timeoutS, name);
      } catch (err) {
        failed++;
        results[name] = { failed: err.message };
      }
      const s = ((performance.now() - start) / 1000).toFixed(1);
      console.log(`${name.padEnd(9)} ${s.padStart(7)} s  ${JSON.stringify(results[name])}`);
    }
  } finally {
    await tray.shutdown();
  }
  const record = {
    ...results,
    load_1m: Math.round(loadavg()[0] * 100) / 100,
    cpus: cpus().length,
  };
  console.log(
    `${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, node ${process.version}, load ${record.load_1m}`,
  );
  if (o.json) console.log(JSON.stringify(record));
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
