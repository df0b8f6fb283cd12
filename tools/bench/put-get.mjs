#!/usr/bin/env node
// Issue 17's large-object measures through the public API, in one process and one run:
//   put   `tray.put` of an 800 MB Uint8Array against a warm memcpy (`Buffer.set` of the same bytes
//         into an already-touched buffer), interleaved round by round (memcpy, put, memcpy, put …),
//         with the CPU (user and system) the put cost this process, also as a ratio to the
//         memcpy's CPU (wall times on a loaded machine mislead): system time is the kernel
//         faulting in store pages this process had not touched yet (a fresh page costs several
//         times its copy; a store that reuses its memory pays none);
//   get   `tray.get` of each object just put, in the process that put it, with the full (major)
//         collections V8 ran during the get: V8 counts every view as external memory and, past
//         64 MiB of growth since its last full collection, collects inside the allocation.
// Each figure as min / median / max over --rounds (default 6; the first rounds find the store's
// pages fresh). Needs the built workspace (`npm run build`).
//   node tools/bench/put-get.mjs [--json] [--rounds 6] [--mb 800]
import { cpus, loadavg } from 'node:os';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';

function options(args) {
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    if (at < 0) return fallback;
    const value = Number(args[at + 1]);
    if (!Number.isInteger(value) || value < 1) {
      console.error(`${name} must be a whole number ≥ 1, got '${args[at + 1] ?? ''}'`);
      console.error('usage: node tools/bench/put-get.mjs [--json] [--rounds 6] [--mb 800]');
      process.exit(2);
    }
    return value;
  };
  return { json: args.includes('--json'), rounds: option('--rounds', 6), mb: option('--mb', 800) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs, digits = 2) => {
  const r = (x) => Math.round(x * 10 ** digits) / 10 ** digits;
  return { min: r(Math.min(...xs)), median: r(median(xs)), max: r(Math.max(...xs)) };
};

let majorCollections = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) majorCollections++;
  }
}).observe({ entryTypes: ['gc'] });

async function main() {
  const o = options(process.argv.slice(2));
  let tray;
  try {
    tray = await import('@tray/core');
  } catch (err) {
    console.error(`cannot load @tray/core (${err.message.split('\n')[0]}); run: npm run build`);
    process.exit(1);
  }
  const bytes = o.mb * 1e6;
  await tray.init({ numCpus: 2, includeDashboard: false, objectStoreMemory: Math.max(4 * bytes, 2e9) });
  const source = new Uint8Array(bytes).fill(3);
  const target = Buffer.alloc(bytes).fill(1); // touched: a warm copy
  const rounds = [];
  try {
    for (let r = 0; r < o.rounds; r++) {
      const memcpyCpu0 = process.cpuUsage();
      let t = performance.now();
      target.set(source);
      const memcpyMs = performance.now() - t;
      const memcpyCpu = process.cpuUsage(memcpyCpu0);
      const cpu0 = process.cpuUsage();
      t = performance.now();
      let ref = await tray.put(source);
      const putMs = performance.now() - t;
      const cpu = process.cpuUsage(cpu0);
      const majorBefore = majorCollections;
      t = performance.now();
      const view = await tray.get(ref);
      const getMs = performance.now() - t;
      // gc entries arrive asynchronously: let those of the get come in.
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (view.length !== bytes || view[bytes - 1] !== 3) throw new Error('the view is not the value put');
      rounds.push({
        memcpy_ms: memcpyMs,
        put_ms: putMs,
        ratio: memcpyMs / putMs,
        put_user_ms: cpu.user / 1000,
        memcpy_cpu_ms: (memcpyCpu.user + memcpyCpu.system) / 1000,
        cpu_ratio: (memcpyCpu.user + memcpyCpu.system) / (cpu.user + cpu.system),
        put_sys_ms: cpu.system / 1000,
        get_ms: getMs,
        get_major_gcs: majorCollections - majorBefore,
      });
      ref = undefined; // dropped: the store may reuse its memory once it is collected
    }
  } finally {
    await tray.shutdown();
  }
  const col = (k) => rounds.map((x) => x[k]);
  const result = {
    mb: o.mb,
    rounds: o.rounds,
    put_vs_memcpy: spread(col('ratio')),
    put_vs_memcpy_cpu: spread(col('cpu_ratio')),
    put_gbps: spread(
      col('put_ms').map((ms) => bytes / ms / 1e6),
      2,
    ),
    memcpy_gbps: spread(
      col('memcpy_ms').map((ms) => bytes / ms / 1e6),
      2,
    ),
    put_sys_ms: spread(col('put_sys_ms'), 0),
    put_user_ms: spread(col('put_user_ms'), 0),
    get_ms: spread(col('get_ms'), 2),
    get_major_gcs: spread(col('get_major_gcs'), 0),
    per_round: rounds.map((x) =>
      Object.fromEntries(Object.entries(x).map(([k, v]) => [k, Math.round(v * 100) / 100])),
    ),
    load_1m: Math.round(loadavg()[0] * 100) / 100,
  };
  const row = (name, s, note = '') =>
    console.log(`${name.padEnd(30)} ${`${s.min} / ${s.median} / ${s.max}`.padStart(24)}  ${note}`.trimEnd());
  console.log(`${o.mb} MB Uint8Array, ${o.rounds} interleaved rounds, min / median / max`);
  row('put / warm memcpy', result.put_vs_memcpy, 'target ≥ 0.9');
  row('  the same in CPU time', result.put_vs_memcpy_cpu, 'memcpy CPU / put CPU (this process)');
  row('put GB/s', result.put_gbps);
  row('memcpy GB/s', result.memcpy_gbps);
  row('put: system CPU ms', result.put_sys_ms, 'page faults of fresh store pages');
  row('put: user CPU ms', result.put_user_ms);
  row('get in the putting process, ms', result.get_ms, 'target < 1');
  row('  major GCs during that get', result.get_major_gcs);
  console.log(
    `${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, node ${process.version}, load ${result.load_1m}`,
  );
  if (o.json) console.log(JSON.stringify(result));
}

await main();
