#!/usr/bin/env node
// Serve's HTTP path against the physical limit (issue 14): autocannon on loopback against a
// no-op deployment behind serve's proxy with 1 and with 2 replicas, and against a bare node:http
// server doing the same work (answer "ok") in its own process, in interleaved rounds so load on
// this shared machine falls on all three alike. Reports each target's requests/s and p50/p99
// latency (medians over the rounds), serve's throughput over the bare server's (target ≥ 0.4)
// and the p50 it adds (target < 1 ms: measured one request at a time on one keep-alive connection,
// in µs, since under 16 connections p50 is about 16 / throughput), Ray Serve's published ~3-4k QPS on 8 cores beside them,
// and the machine and its load. CPU time per request (µs, from /proc/PID/stat) of the proxy, the
// replica(s) and the load generator (this process, also the driver) is read around each round.
//   node tools/bench/serve.mjs [--rounds 3] [--seconds 5] [--connections 16] [--max-ongoing 100] [--json]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tray = await import(path.join(root, 'packages/core/dist/index.js'));
const serve = await import(path.join(root, 'packages/serve/dist/index.js'));

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  const v = at >= 0 ? Number(args[at + 1]) : Number.NaN;
  return v > 0 ? v : fallback;
};
const rounds = Math.max(3, flag('--rounds', 3));
const seconds = flag('--seconds', 5);
const connections = flag('--connections', 16);
const json = args.includes('--json');
const log = (line) => process.stderr.write(`${line}\n`);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The bare server: node:http answering "ok", in a process of its own as the proxy is. */
async function startBare() {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/plain' }); s.end('ok'); })` +
        `.listen(${port}, '127.0.0.1', () => process.send('ready'));`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the bare server exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}/`, pid: child.pid, stop: () => child.kill('SIGKILL') };
}

/** utime+stime of a process in µs (Linux /proc; 0 elsewhere). */
const TICK_US = 1e6 / 100;
function cpuUs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return 0;
  }
}

async function load(url, pids = {}) {
  const before = Object.fromEntries(Object.entries(pids).map(([k, ps]) => [k, ps.map(cpuUs)]));
  const self = process.cpuUsage();
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  const selfUs = process.cpuUsage(self);
  const n = Math.max(1, r.requests.total);
  const cpu = Object.fromEntries(
    Object.entries(pids).map(([k, ps]) => [
      k,
      Math.round(ps.reduce((s, p, i) => s + cpuUs(p) - before[k][i], 0) / n),
    ]),
  );
  cpu.loadgen = Math.round((selfUs.user + selfUs.system) / n);
  return {
    cpu_us: cpu,
    rps: r.requests.average,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    requests: r.requests.total,
  };
}

/**
 * The latency one request adds at rest: one keep-alive connection, one request at a time, the
 * median of `n` (µs) after a warm-up. Under autocannon's closed loop of 16 connections p50 is
 * about 16 / throughput, and autocannon gives it in whole milliseconds.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function requestUs(url) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1000));
      })
      .on('error', reject);
  });
}
async function oneAtATimeP50Us(url, n = 400) {
  for (let i = 0; i < 40; i++) await requestUs(url);
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(await requestUs(url));
  return median(xs);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const loadBefore = os.loadavg()[0];
await tray.init({ numCpus: 2, logToDriver: false });
const port = await freePort();
const bare = await startBare();
try {
  await serve.start({ http: { port }, proxyLocation: 'HeadOnly' });
  const Noop = serve.deployment(
    class Noop {
      fetch() {
        // x-pid: the bench reads this replica's CPU time from /proc.
        return new Response('ok', {
          headers: { 'content-type': 'text/plain', 'x-pid': String(process.pid) },
        });
      }
    },
    // maxOngoingRequests 100 (Ray's default when its ~3-4k QPS was published, 5 now): the
    // replicas, not the handle's backoff while they are full, set the pace at 16 connections.
    { actorOptions: { numCpus: 0 }, maxOngoingRequests: flag('--max-ongoing', 100) },
  );
  await serve.run(Noop.options({ name: 'Noop1', numReplicas: 1 }).bind(), {
    name: 'one',
    routePrefix: '/one',
  });
  await serve.run(Noop.options({ name: 'Noop2', numReplicas: 2 }).bind(), {
    name: 'two',
    routePrefix: '/two',
  });
  const targets = {
    bare: bare.url,
    serve_1_replica: `http://127.0.0.1:${port}/one`,
    serve_2_replicas: `http://127.0.0.1:${port}/two`,
  };
  // The proxy learns routes by polling: wait until both answer, then warm each up.
  for (const url of Object.values(targets)) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await fetch(url).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`${url} does not answer`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await autocannon({ url, connections, duration: 1 });
  }
  // The processes each target's requests cost CPU in: the proxy, and the replicas (their pids
  // from x-pid; enough requests to see both of two replicas).
  const proxyPid = (
    await tray.get(
      (
        await tray.getActor(`SERVE_PROXY_ACTOR-${tray.getRuntimeContext().nodeId}`, { namespace: 'serve' })
      ).ready.remote(),
    )
  ).pid;
  const replicaPids = async (url) => {
    const seen = new Set();
    for (let i = 0; i < 40; i++) seen.add(Number((await fetch(url)).headers.get('x-pid')));
    return [...seen];
  };
  const pids = {
    bare: { server: [bare.pid] },
    serve_1_replica: { proxy: [proxyPid], replicas: await replicaPids(targets.serve_1_replica) },
    serve_2_replicas: { proxy: [proxyPid], replicas: await replicaPids(targets.serve_2_replicas) },
  };
  const samples = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  const atRest = { bare: [], serve_1_replica: [] };
  for (let round = 0; round < rounds; round++) {
    for (const name of Object.keys(atRest)) atRest[name].push(await oneAtATimeP50Us(targets[name]));
    log(
      `round ${round + 1}/${rounds} one request at a time: p50 bare ${Math.round(atRest.bare.at(-1))} µs, serve (1 replica) ${Math.round(atRest.serve_1_replica.at(-1))} µs`,
    );
    for (const [name, url] of Object.entries(targets)) {
      const s = await load(url, pids[name]);
      samples[name].push(s);
      log(
        `round ${round + 1}/${rounds} ${name}: ${Math.round(s.rps)} req/s, p50 ${s.p50_ms} ms, p99 ${s.p99_ms} ms, errors ${s.errors}, ` +
          `CPU µs/req ${Object.entries(s.cpu_us)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}, load ${os.loadavg()[0].toFixed(2)}`,
      );
    }
  }
  const summary = Object.fromEntries(
    Object.entries(samples).map(([name, xs]) => [
      name,
      {
        rps: Math.round(median(xs.map((x) => x.rps))),
        p50_ms: median(xs.map((x) => x.p50_ms)),
        p99_ms: median(xs.map((x) => x.p99_ms)),
        errors: xs.reduce((n, x) => n + x.errors, 0),
        cpu_us: Object.fromEntries(
          Object.keys(xs[0].cpu_us).map((k) => [k, median(xs.map((x) => x.cpu_us[k]))]),
        ),
      },
    ]),
  );
  const result = {
    ...Object.fromEntries(
      Object.entries(summary).flatMap(([n, s]) => Object.entries(s).map(([k, v]) => [`${n}_${k}`, v])),
    ),
    serve_1_vs_bare: Number((summary.serve_1_replica.rps / summary.bare.rps).toFixed(3)),
    serve_2_vs_bare: Number((summary.serve_2_replicas.rps / summary.bare.rps).toFixed(3)),
    serve_1_added_p50_ms: summary.serve_1_replica.p50_ms - summary.bare.p50_ms,
    bare_p50_us_one_at_a_time: Math.round(median(atRest.bare)),
    serve_1_p50_us_one_at_a_time: Math.round(median(atRest.serve_1_replica)),
    serve_1_added_p50_us_one_at_a_time: Math.round(median(atRest.serve_1_replica) - median(atRest.bare)),
    serve_1_cpu_us_per_req_proxy_plus_replica:
      summary.serve_1_replica.cpu_us.proxy + summary.serve_1_replica.cpu_us.replicas,
    serve_2_cpu_us_per_req_proxy_plus_replicas:
      summary.serve_2_replicas.cpu_us.proxy + summary.serve_2_replicas.cpu_us.replicas,
    bare_cpu_us_per_req: summary.bare.cpu_us.server,
    serve_2_added_p50_ms: summary.serve_2_replicas.p50_ms - summary.bare.p50_ms,
    ray_serve_published_qps_8_cores: '3000-4000',
    rounds,
    seconds,
    connections,
    max_ongoing_requests: flag('--max-ongoing', 100),
    machine_cpus: os.cpus().length,
    machine_cpu_model: os.cpus()[0]?.model ?? 'unknown',
    loadavg_1m_before: Number(loadBefore.toFixed(2)),
    loadavg_1m_after: Number(os.loadavg()[0].toFixed(2)),
  };
  log(
    `serve (1 replica) ${result.serve_1_replica_rps} req/s = ${result.serve_1_vs_bare}x bare ${result.bare_rps} (target 0.4), ` +
      `p50 +${result.serve_1_added_p50_ms} ms at ${connections} connections, +${result.serve_1_added_p50_us_one_at_a_time} µs one request at a time (target < 1000 µs), CPU ${result.serve_1_cpu_us_per_req_proxy_plus_replica} µs/req proxy+replica ` +
      `(bare ${result.bare_cpu_us_per_req}); target ${result.serve_1_vs_bare >= 0.4 && result.serve_1_added_p50_us_one_at_a_time < 1000 ? 'met' : 'NOT met'}; 2 replicas ${result.serve_2_replicas_rps} req/s = ${result.serve_2_vs_bare}x; ` +
      `Ray Serve's published 3-4k QPS on 8 cores; ${result.machine_cpus} cores, load ${result.loadavg_1m_before} → ${result.loadavg_1m_after}`,
  );
  if (json) console.log(JSON.stringify(result));
} finally {
  bare.stop();
  await serve.shutdown().catch(() => {});
  await tray.shutdown();
}
process.exit(0);
