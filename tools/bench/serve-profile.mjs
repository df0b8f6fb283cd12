#!/usr/bin/env node
// Where serve's HTTP path spends its CPU: starts a local cluster with a no-op deployment behind
// the proxy (as serve.mjs does), puts autocannon load on it and, meanwhile, takes a V8 CPU
// profile of the proxy or of the replica through the inspector (SIGUSR1 on its pid, then the
// DevTools protocol on loopback), writing DIR/{proxy,replica}.cpuprofile (open it in Chrome
// DevTools) and printing its top functions by self time (the profiler samples wall time: a
// syscall that wakes another process counts the time it is preempted). Also prints the CPU time
// per request of every process of the cluster (/proc), so a cost outside proxy and replica
// (raylet, GCS, controller) shows too.
//   node tools/bench/serve-profile.mjs [--profile proxy|replica|none] [--seconds 8] [--connections 16]
//     [--dir /tmp/serve-prof] [--replicas 1]
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import WebSocket from 'ws';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tray = await import(path.join(root, 'packages/core/dist/index.js'));
const serve = await import(path.join(root, 'packages/serve/dist/index.js'));

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const seconds = Number(opt('--seconds', 8));
const connections = Number(opt('--connections', 16));
const dir = opt('--dir', '/tmp/serve-prof');
const replicas = Number(opt('--replicas', 1));
// One process per run: an inspector opened by SIGUSR1 takes the default port until it exits.
const target = opt('--profile', 'proxy'); // proxy | replica | none
mkdirSync(dir, { recursive: true });

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

const TICK_US = 1e6 / 100;
function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(f[1]),
      cpu: (Number(f[11]) + Number(f[12])) * TICK_US,
      sys: Number(f[12]) * TICK_US,
    };
  } catch {
    return undefined;
  }
}
function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 80);
  } catch {
    return '?';
  }
}
/** This process's descendants. */
function tree() {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const parent = new Map(all.map((p) => [p, stat(p)?.ppid]));
  const mine = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, pp] of parent) {
      if (!mine.has(p) && mine.has(pp)) {
        mine.add(p);
        grew = true;
      }
    }
  }
  return [...mine];
}

/** Starts the V8 profiler in `pid` through its inspector (opened by SIGUSR1 on `port`). */
async function profiler(pid, port) {
  // process._debugProcess opens the inspector on the default port; pick it with --inspect-port
  // not possible after start, so profile one process at a time on 9229.
  process._debugProcess(pid);
  let list;
  for (let i = 0; i < 50; i++) {
    list = await fetch(`http://127.0.0.1:${port}/json/list`).then(
      (r) => r.json(),
      () => undefined,
    );
    if (list?.[0]) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  let id = 0;
  const waiting = new Map();
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m));
    waiting.get(msg.id)?.(msg.result);
    waiting.delete(msg.id);
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  await send('Runtime.evaluate', {
    includeCommandLineAPI: true,
    expression: `(() => {
      const { PerformanceObserver } = require('node:perf_hooks');
      const gc = (globalThis.__serveProfileGc = { kinds: {}, ms: 0, heap: require('node:v8').getHeapStatistics() });
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          const k = e.detail?.kind ?? e.kind;
          gc.kinds[k] = (gc.kinds[k] ?? 0) + 1;
          gc.ms += e.duration;
        }
      }).observe({ entryTypes: ['gc'] });
    })()`,
  });
  if (args.includes('--trace-gc')) {
    await send('Runtime.evaluate', {
      includeCommandLineAPI: true,
      expression: `require('node:v8').setFlagsFromString('--trace-gc')`,
    });
  }
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  await send('Profiler.start');
  return {
    async stop() {
      const { profile } = await send('Profiler.stop');
      const gc = await send('Runtime.evaluate', {
        returnByValue: true,
        expression: `(() => { const g = globalThis.__serveProfileGc; const h = process.memoryUsage(); return { kinds: g.kinds, ms: Math.round(g.ms), heapUsedMB: Math.round(h.heapUsed / 1e6), externalMB: Math.round(h.external / 1e6), semiSpaceKB: Math.round(require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1024) }; })()`,
        includeCommandLineAPI: true,
      });
      console.log(
        `GC in it while profiled (kinds: 1 scavenge, 2 minor mark-compact, 4 mark-compact, 8 incremental, 16 weak callbacks): ${JSON.stringify(gc.result.value)}`,
      );
      // Close the inspector so the next process can open it on the same port.
      ws.close();
      return profile;
    },
  };
}

function top(profile, n = 25) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const counts = new Map();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  let total = 0;
  for (const [nid, c] of counts) {
    const node = byId.get(nid);
    const f = node.callFrame;
    const key = `${f.functionName || '(anon)'} ${path.basename(f.url || '')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + c);
    total += c;
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, c]) => `${((100 * c) / total).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
}

await tray.init({ numCpus: 2, logToDriver: false });
const port = await freePort();
try {
  await serve.start({ http: { port }, proxyLocation: 'HeadOnly' });
  const Noop = serve.deployment(
    class Noop {
      fetch() {
        return new Response('ok', {
          headers: { 'content-type': 'text/plain', 'x-pid': String(process.pid) },
        });
      }
    },
    { actorOptions: { numCpus: 0 }, maxOngoingRequests: 100 },
  );
  await serve.run(Noop.options({ name: 'Noop', numReplicas: replicas }).bind(), {
    name: 'noop',
    routePrefix: '/',
  });
  const url = `http://127.0.0.1:${port}/`;
  for (const deadline = Date.now() + 60_000; ; ) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error('no answer');
    await new Promise((r) => setTimeout(r, 200));
  }
  await autocannon({ url, connections, duration: 2 });
  const proxyPid = (
    await tray.get(
      (
        await tray.getActor(`SERVE_PROXY_ACTOR-${tray.getRuntimeContext().nodeId}`, { namespace: 'serve' })
      ).ready.remote(),
    )
  ).pid;
  const replicaPid = Number((await fetch(url)).headers.get('x-pid'));
  const pids = tree();
  const threads = (pid) => {
    try {
      return readdirSync(`/proc/${pid}/task`).map((t) => {
        const s = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
        return [`${t} ${name}`, (Number(f[11]) + Number(f[12])) * TICK_US];
      });
    } catch {
      return [];
    }
  };
  const threadsBefore = new Map([proxyPid, replicaPid].map((p) => [p, new Map(threads(p))]));
  const before = new Map(pids.map((p) => [p, stat(p)?.cpu ?? 0]));
  const sysBefore = new Map(pids.map((p) => [p, stat(p)?.sys ?? 0]));
  const self0 = process.cpuUsage();
  const run = autocannon({ url, connections, duration: seconds });
  const profiles = {};
  if (target !== 'none') {
    const p = await profiler(target === 'proxy' ? proxyPid : replicaPid, 9229);
    await new Promise((r) => setTimeout(r, (seconds - 1) * 1000));
    profiles[target] = await p.stop();
  }
  const r = await run;
  const selfUs = process.cpuUsage(self0);
  const n = r.requests.total;
  console.log(
    `${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, errors ${r.errors + r.non2xx}, load ${readFileSync('/proc/loadavg', 'utf8').trim()}`,
  );
  console.log(
    `CPU µs/req (of it in the kernel): driver+loadgen ${Math.round((selfUs.user + selfUs.system) / n)}`,
  );
  for (const p of pids) {
    if (p === process.pid) continue;
    const d = (stat(p)?.cpu ?? before.get(p)) - before.get(p);
    if (d <= 0) continue;
    const tag = p === proxyPid ? ' [proxy]' : p === replicaPid ? ' [replica]' : '';
    const sys = (stat(p)?.sys ?? sysBefore.get(p)) - sysBefore.get(p);
    console.log(
      `  ${String(Math.round(d / n)).padStart(5)} (sys ${String(Math.round(sys / n)).padStart(4)})  pid ${p}${tag} ${cmdline(p)}`,
    );
  }
  for (const [label, pid] of [
    ['proxy', proxyPid],
    ['replica', replicaPid],
  ]) {
    const was = threadsBefore.get(pid);
    const busy = threads(pid)
      .map(([t, cpu]) => [t, Math.round((cpu - (was.get(t) ?? 0)) / n)])
      .filter(([, us]) => us > 0)
      .map(([t, us]) => `${t} ${us}`);
    console.log(`  ${label} threads (µs/req): ${busy.join(', ')}`);
  }
  if (args.includes('--trace-gc') && target !== 'none') {
    const pid = target === 'proxy' ? proxyPid : replicaPid;
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const session = env.find((e) => e.startsWith('TRAY_SESSION_DIR='))?.slice('TRAY_SESSION_DIR='.length);
    const out = readFileSync(path.join(session, 'logs', `worker-${pid}.out`), 'utf8').split('\n');
    console.log(
      out
        .filter((l) => l.includes('Mark-Compact') || l.includes('Scavenge'))
        .slice(-30)
        .join('\n'),
    );
  }
  for (const [name, profile] of Object.entries(profiles)) {
    writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    console.log(`\n== ${name} (self time) ==\n${top(profile)}`);
  }
} finally {
  await serve.shutdown().catch(() => {});
  await tray.shutdown();
}
process.exit(0);
