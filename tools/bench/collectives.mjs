#!/usr/bin/env node
// allReduce among the members of a @tray/train collective group, on 2 workers (actors in their own
// processes on a local cluster), for tensors of 1 KiB … 256 MiB, against a memcpy of the same size
// (Buffer.copy into a destination already touched) measured in the same run: the physical limit
// of moving the bytes on one machine. Rounds interleave every size and the memcpy, so load
// changes hit all alike; min and median are reported.
//   bus bandwidth = 2(n-1)/n · bytes / time (n = 2: bytes / time); ratio = bus bandwidth / memcpy
// Issue 15's targets: ratio >= 0.5 for >= 16 MiB; 1 KiB allReduce < 200 µs. The members share a
// node: tensors over 64 KiB that every member allocated with group.sharedArray ("shared") are
// reduced straight between the members' arrays in one pass (same-node.ts); private arrays (the
// headline "auto" columns) go through the group's shared region (shm.ts). The same rounds time
// cross-memory attach ("cross", TRAY_COLLECTIVE_CROSS_MEMORY=on), the TCP path
// (TRAY_COLLECTIVE_SHM_MIN_BYTES=off) and TCP sending every tensor whole ("direct", where
// TRAY_COLLECTIVE_DIRECT_MAX_BYTES switches), each against the memcpy.
// "auto" and "shared" are allReduce into a reused result array (`{ out }`, what a training loop
// does); "new array" times the form that returns a fresh array each call, and "fresh" is a memcpy
// into a newly allocated array, what any call returning a new array pays at least (its pages
// fault in on first touch). CPU µs per op: the members' process.cpuUsage (the mean of the
// members; memory stalls count as CPU time), and "cpu ratio" = the memcpy's CPU time / a
// member's CPU time per allReduce: on a loaded machine wall times measure the load, CPU time much
// less so. With shared arrays (and by cross memory) each member reads 1 byte and writes 1 per
// byte of tensor, a memcpy's traffic (through the shared region 2 and 2): the two members at once
// move twice what one memcpy does, so the ratio is 0.5 when memory bandwidth does not grow with a
// second core, 1 when it doubles. "limit" times exactly that traffic, measured: every member
// doing one memcpy of the size at once ("of limit": limit time / allReduce time of "auto").
// TRAY_COLLECTIVE_NATIVE_REDUCE=off in the environment times the JavaScript reduce loop instead
// of the addon's kernel.
// The machine's load average is printed with the numbers: on a shared machine wall times are
// noisy, so rerun it when the machine is quiet:  node tools/bench/collectives.mjs [--json]
//   --rounds N      interleaved rounds (default 5)
//   --max-mib M     largest size (default 256)
//   --workers N     group size (default 2)
//   --store         also time the same allReduce through the object store (the alternative)
//   --min-reps N    at least N operations per timing (default 1; large sizes get 1 otherwise,
//                   which on a loaded machine is one noisy sample)
// Needs the build: npm run build. The members run from this file (shipped by reference).
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';

const coreUrl = new URL('../../packages/core/dist/index.js', import.meta.url);
const trainUrl = new URL('../../packages/train/dist/index.js', import.meta.url);
const storeUrl = new URL('../../packages/object-store/dist/index.js', import.meta.url);
/** Read at run time by @tray/train (the direct/split threshold) and set by the raylet (the store). */
const DIRECT_ENV = 'TRAY_COLLECTIVE_DIRECT_MAX_BYTES';
const SHM_ENV = 'TRAY_COLLECTIVE_SHM_MIN_BYTES';
const CROSS_ENV = 'TRAY_COLLECTIVE_CROSS_MEMORY';
const STORE_ENV = 'TRAY_STORE_SOCKET';
/** Read by @tray/train in the members (inherited from this process): `off` is the JavaScript reduce loop. */
const NATIVE_ENV = 'TRAY_COLLECTIVE_NATIVE_REDUCE';

/** Each member: joins the group, then times operations when asked. */
export class BenchMember {
  group = undefined;
  tensors = new Map();
  outs = new Map();

  async init(spec) {
    const { initCollectiveGroup } = await import(trainUrl.href);
    this.group = await initCollectiveGroup(spec);
    // The same members as a second group that sends every allReduce whole (the threshold is
    // read when a group is made), so both algorithms are timed in the same rounds.
    process.env[CROSS_ENV] = 'on';
    try {
      this.cross = await initCollectiveGroup({ ...spec, name: `${spec.name}-cross` });
    } finally {
      delete process.env[CROSS_ENV];
    }
    process.env[SHM_ENV] = 'off';
    try {
      this.tcp = await initCollectiveGroup({ ...spec, name: `${spec.name}-tcp` });
      process.env[DIRECT_ENV] = String(2 ** 40);
      this.direct = await initCollectiveGroup({ ...spec, name: `${spec.name}-direct` });
    } finally {
      delete process.env[DIRECT_ENV];
      delete process.env[SHM_ENV];
    }
    return process.pid;
  }

  tensor(bytes, shared = false) {
    const key = shared ? -bytes : bytes;
    let t = this.tensors.get(key);
    if (t === undefined) {
      t = shared ? this.group.sharedArray(Float32Array, bytes / 4) : new Float32Array(bytes / 4);
      for (let i = 0; i < t.length; i++) t[i] = (i % 1000) / 7 + this.group.rank;
      this.tensors.set(key, t);
    }
    return t;
  }

  /**
   * `reps` allReduces of `bytes` after a barrier: [wall ms, CPU µs] of each (every member runs
   * them). `path`: 'auto' (the library's choice: the shared region for private arrays on one
   * node), 'cross' (cross-memory attach, TRAY_COLLECTIVE_CROSS_MEMORY=on),
   * 'tcp' (no shared memory), 'direct' (TCP, whole), 'shared' (tensor and out from
   * group.sharedArray: one pass between the members' arrays);
   * `into`: into one reused result array (else a new array each call).
   */
  async allReduce(bytes, reps, path = 'auto', into = true) {
    const g =
      path === 'direct'
        ? this.direct
        : path === 'tcp'
          ? this.tcp
          : path === 'cross'
            ? this.cross
            : this.group;
    const shared = path === 'shared';
    const t = this.tensor(bytes, shared);
    const key = shared ? -bytes : bytes;
    let out = this.outs.get(key);
    if (out === undefined) {
      // Touched, as a training loop's reused buffer is.
      out = (shared ? this.group.sharedArray(Float32Array, t.length) : new Float32Array(t.length)).fill(1);
      this.outs.set(key, out);
    }
    const options = into ? { op: 'sum', out } : { op: 'sum' };
    await g.barrier();
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < reps; i++) await g.allReduce(t, options);
    const wall = (performance.now() - start) / reps;
    const used = process.cpuUsage(cpu);
    return [wall, (used.user + used.system) / reps];
  }

  /**
   * The scheme's limit measured (every member at once, after a barrier): `copies` memcpys of
   * `bytes` each between touched buffers of this process, wall ms per round of them. With
   * copies = 1 each member moves what its allReduce by cross memory moves (2: through the region).
   */
  async copies(bytes, reps, copies) {
    let pair = this.copyBuffers?.get(bytes);
    if (pair === undefined) {
      this.copyBuffers ??= new Map();
      pair = [Buffer.alloc(bytes, 1), Buffer.alloc(bytes, 2)];
      this.copyBuffers.set(bytes, pair);
    }
    const [src, dst] = pair;
    await this.group.barrier();
    const start = performance.now();
    for (let i = 0; i < reps * copies; i++) src.copy(dst);
    return (performance.now() - start) / reps;
  }

  /**
   * The alternative measured against (--store): the same allReduce through the node's object
   * store for 2 members on one node. Each writes its tensor into a store object, reduces its half
   * from both (zero-copy views of the shared segment), writes that half into another object and
   * copies the other half out of its peer's; a barrier, then each deletes its own objects.
   */
  async storeAllReduce(bytes, reps) {
    const { StoreClient, OBJECT_ID_BYTES } = await import(storeUrl.href);
    const { createHash } = await import('node:crypto');
    this.store ??= await StoreClient.connect(process.env[STORE_ENV]);
    const g = this.group;
    const t = this.tensor(bytes);
    const id = (what, rank, i) =>
      createHash('sha256')
        .update(`${g.name}/${what}/${rank}/${i}/${bytes}`)
        .digest()
        .subarray(0, OBJECT_ID_BYTES);
    const half = t.length / 2;
    await g.barrier();
    const start = performance.now();
    for (let i = 0; i < reps; i++) {
      const me = g.rank;
      const peer = 1 - me;
      await this.store.put(id('in', me, i), t);
      const theirs = await this.store.get(id('in', peer, i), { timeoutMs: 60_000 });
      const other = new Float32Array(theirs.buffer, theirs.data.byteOffset, t.length);
      const result = new Float32Array(t.length);
      const [a, b] = me === 0 ? [0, half] : [half, t.length];
      const first = me === 0 ? t : other;
      const second = me === 0 ? other : t;
      for (let k = a; k < b; k++) result[k] = first[k] + second[k];
      await this.store.put(id('out', me, i), result.subarray(a, b));
      const done = await this.store.get(id('out', peer, i), { timeoutMs: 60_000 });
      result.set(new Float32Array(done.buffer, done.data.byteOffset, half), me === 0 ? half : 0);
      this.store.release(theirs);
      this.store.release(done);
      await g.barrier();
      await this.store.delete([id('in', me, i), id('out', me, i)]);
    }
    return (performance.now() - start) / reps;
  }

  async destroy() {
    await this.group?.destroy();
    await this.cross?.destroy();
    await this.direct?.destroy();
    await this.tcp?.destroy();
    await this.store?.close();
  }
}

/** memcpy of `bytes` into a touched destination (fresh: into a new array each time): ms per copy; `cpu` gets CPU µs per copy. */
function memcpy(bytes, reps, buffers, fresh = false, cpu = []) {
  let pair = buffers.get(bytes);
  if (pair === undefined) {
    pair = [Buffer.alloc(bytes, 1), Buffer.alloc(bytes, 2)];
    buffers.set(bytes, pair);
  }
  const [src, dst] = pair;
  src.copy(dst); // touch
  const from = new Float32Array(src.buffer, src.byteOffset, bytes / 4);
  const used = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < reps; i++) {
    if (fresh) new Float32Array(bytes / 4).set(from);
    else src.copy(dst);
  }
  const wall = (performance.now() - start) / reps;
  const { user, system } = process.cpuUsage(used);
  cpu.push((user + system) / reps);
  return wall;
}

function parseArgs(argv) {
  const o = { rounds: 5, maxMib: 256, workers: 2, json: false, store: false, minReps: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer, got ${argv[i]}`);
      return v;
    };
    if (a === '--json') o.json = true;
    else if (a === '--store') o.store = true;
    else if (a === '--rounds') o.rounds = num();
    else if (a === '--max-mib') o.maxMib = num();
    else if (a === '--workers') o.workers = num();
    else if (a === '--min-reps') o.minReps = num();
    else
      throw new Error(
        `unknown option ${a} (use --rounds N, --max-mib M, --workers N, --min-reps N, --store, --json)`,
      );
  }
  return o;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function label(bytes) {
  return bytes >= 2 ** 20 ? `${bytes / 2 ** 20} MiB` : `${bytes / 1024} KiB`;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const tray = await import(coreUrl.href).catch((err) => {
    console.error(`cannot load @tray/core (${err.message}); run: npm run build`);
    process.exit(1);
  });
  const sizes = [];
  for (let b = 1024; b <= o.maxMib * 2 ** 20; b *= 4) sizes.push(b);
  const loadBefore = loadavg()[0];
  await tray.init({ numCpus: o.workers, logToDriver: false });
  try {
    const Member = tray.remote(BenchMember, { module: import.meta.url, exportName: 'BenchMember' });
    const members = Array.from({ length: o.workers }, () => Member.options({ numCpus: 1 }).remote());
    const name = `bench-${process.pid}`;
    await tray.get(members.map((m, rank) => m.init.remote({ name, worldSize: o.workers, rank })));
    const reps = (bytes) => Math.max(o.minReps, Math.min(200, Math.floor(2 ** 24 / bytes)));
    if (o.store && o.workers !== 2) throw new Error('--store measures 2 workers only');
    const times = new Map(
      sizes.map((b) => [
        b,
        {
          allReduce: [],
          newArray: [],
          limit: [],
          tcp: [],
          direct: [],
          memcpy: [],
          fresh: [],
          store: [],
          cpu: [],
          newArrayCpu: [],
          tcpCpu: [],
          cross: [],
          shared: [],
          sharedCpu: [],
          crossCpu: [],
          memcpyCpu: [],
        },
      ]),
    );
    const buffers = new Map();
    // A warm-up pass (first-touch of every tensor and buffer), then the measured rounds.
    for (let round = -1; round < o.rounds; round++) {
      for (const bytes of sizes) {
        const ms = await tray.get(members.map((m) => m.allReduce.remote(bytes, reps(bytes))));
        const memcpyCpu = [];
        const copy = memcpy(bytes, reps(bytes), buffers, false, memcpyCpu);
        const cross = await tray.get(members.map((m) => m.allReduce.remote(bytes, reps(bytes), 'cross')));
        const shared = await tray.get(members.map((m) => m.allReduce.remote(bytes, reps(bytes), 'shared')));
        const tcp = await tray.get(members.map((m) => m.allReduce.remote(bytes, reps(bytes), 'tcp')));
        const fresh = memcpy(bytes, reps(bytes), buffers, true);
        const newArray = await tray.get(
          members.map((m) => m.allReduce.remote(bytes, reps(bytes), 'auto', false)),
        );
        const copy2 = memcpy(bytes, reps(bytes), buffers, false, memcpyCpu);
        const limit = Math.max(
          ...(await tray.get(members.map((m) => m.copies.remote(bytes, reps(bytes), 1)))),
        );
        const whole = await tray.get(members.map((m) => m.allReduce.remote(bytes, reps(bytes), 'direct')));
        const viaStore = o.store
          ? Math.max(...(await tray.get(members.map((m) => m.storeAllReduce.remote(bytes, reps(bytes))))))
          : undefined;
        if (round < 0) continue;
        const slowest = (xs) => Math.max(...xs.map(([wall]) => wall));
        const cpuOf = (xs) => xs.reduce((a, [, cpu]) => a + cpu, 0) / xs.length;
        times.get(bytes).allReduce.push(slowest(ms));
        times.get(bytes).cpu.push(cpuOf(ms));
        times.get(bytes).tcp.push(slowest(tcp));
        times.get(bytes).tcpCpu.push(cpuOf(tcp));
        times.get(bytes).memcpy.push(copy, copy2);
        times.get(bytes).memcpyCpu.push(...memcpyCpu);
        times.get(bytes).cross.push(slowest(cross));
        times.get(bytes).shared.push(slowest(shared));
        times.get(bytes).sharedCpu.push(cpuOf(shared));
        times.get(bytes).crossCpu.push(cpuOf(cross));
        times.get(bytes).newArray.push(slowest(newArray));
        times.get(bytes).limit.push(limit);
        times.get(bytes).newArrayCpu.push(cpuOf(newArray));
        times.get(bytes).fresh.push(fresh);
        times.get(bytes).direct.push(slowest(whole));
        if (viaStore !== undefined) times.get(bytes).store.push(viaStore);
      }
      if (!o.json && round >= 0) process.stderr.write(`round ${round + 1}/${o.rounds} done\n`);
    }
    const n = o.workers;
    const rows = sizes.map((bytes) => {
      const t = times.get(bytes);
      const best = Math.min(...t.allReduce);
      const bus = ((2 * (n - 1)) / n) * bytes;
      const memcpyBest = Math.min(...t.memcpy);
      return {
        bytes,
        allreduce_us_min: Math.round(best * 1000 * 10) / 10,
        allreduce_us_median: Math.round(median(t.allReduce) * 1000 * 10) / 10,
        busbw_gbps: Math.round((bus / (best / 1000) / 1e9) * 1000) / 1000,
        memcpy_gbps: Math.round((bytes / (memcpyBest / 1000) / 1e9) * 1000) / 1000,
        ratio: Math.round((bus / best / (bytes / memcpyBest)) * 1000) / 1000,
        ratio_median: Math.round((bus / median(t.allReduce) / (bytes / median(t.memcpy))) * 1000) / 1000,
        limit_us_min: Math.round(Math.min(...t.limit) * 1000 * 10) / 10,
        of_limit: Math.round((Math.min(...t.limit) / best) * 1000) / 1000,
        new_array_us_min: Math.round(Math.min(...t.newArray) * 1000 * 10) / 10,
        new_array_ratio: Math.round((bus / Math.min(...t.newArray) / (bytes / memcpyBest)) * 1000) / 1000,
        new_array_cpu_us_per_op: Math.round(median(t.newArrayCpu)),
        tcp_us_min: Math.round(Math.min(...t.tcp) * 1000 * 10) / 10,
        tcp_ratio: Math.round((bus / Math.min(...t.tcp) / (bytes / memcpyBest)) * 1000) / 1000,
        direct_us_min: Math.round(Math.min(...t.direct) * 1000 * 10) / 10,
        fresh_memcpy_us_min: Math.round(Math.min(...t.fresh) * 1000 * 10) / 10,
        cpu_us_per_op: Math.round(median(t.cpu)),
        memcpy_cpu_us: Math.round(median(t.memcpyCpu)),
        cpu_ratio: Math.round((median(t.memcpyCpu) / median(t.cpu)) * 1000) / 1000,
        shared_us_min: Math.round(Math.min(...t.shared) * 1000 * 10) / 10,
        shared_us_median: Math.round(median(t.shared) * 1000 * 10) / 10,
        shared_ratio: Math.round((bus / Math.min(...t.shared) / (bytes / memcpyBest)) * 1000) / 1000,
        shared_ratio_median: Math.round((bus / median(t.shared) / (bytes / median(t.memcpy))) * 1000) / 1000,
        shared_cpu_us_per_op: Math.round(median(t.sharedCpu)),
        shared_cpu_ratio: Math.round((median(t.memcpyCpu) / median(t.sharedCpu)) * 1000) / 1000,
        cross_us_min: Math.round(Math.min(...t.cross) * 1000 * 10) / 10,
        cross_ratio: Math.round((bus / Math.min(...t.cross) / (bytes / memcpyBest)) * 1000) / 1000,
        cross_cpu_us_per_op: Math.round(median(t.crossCpu)),
        cross_cpu_ratio: Math.round((median(t.memcpyCpu) / median(t.crossCpu)) * 1000) / 1000,
        tcp_cpu_us_per_op: Math.round(median(t.tcpCpu)),
        ...(o.store ? { store_us_min: Math.round(Math.min(...t.store) * 1000 * 10) / 10 } : {}),
      };
    });
    await tray.get(members.map((m) => m.destroy.remote()));
    const large = rows.filter((r) => r.bytes >= 16 * 2 ** 20);
    const result = {
      workers: n,
      rounds: o.rounds,
      load_before: Math.round(loadBefore * 100) / 100,
      load_after: Math.round(loadavg()[0] * 100) / 100,
      cpus: cpus().length,
      sizes: rows,
      latency_1kib_us: rows[0]?.allreduce_us_min,
      min_ratio_16mib_up: large.length ? Math.min(...large.map((r) => r.ratio)) : undefined,
      min_new_array_ratio_16mib_up: large.length
        ? Math.min(...large.map((r) => r.new_array_ratio))
        : undefined,
      min_tcp_ratio_16mib_up: large.length ? Math.min(...large.map((r) => r.tcp_ratio)) : undefined,
      min_shared_ratio_16mib_up: large.length ? Math.min(...large.map((r) => r.shared_ratio)) : undefined,
      min_shared_cpu_ratio_16mib_up: large.length
        ? Math.min(...large.map((r) => r.shared_cpu_ratio))
        : undefined,
      min_cpu_ratio_16mib_up: large.length ? Math.min(...large.map((r) => r.cpu_ratio)) : undefined,
      min_cross_ratio_16mib_up: large.length ? Math.min(...large.map((r) => r.cross_ratio)) : undefined,
      native_reduce: process.env[NATIVE_ENV] !== 'off',
      targets: { latency_1kib_us: '< 200', min_ratio_16mib_up: '>= 0.5' },
    };
    console.log(
      `allReduce (sum, Float32Array, into a reused out) on ${n} workers, ${o.rounds} rounds, ${result.native_reduce ? 'native' : 'JavaScript'} reduce; load ${result.load_before} → ${result.load_after} on ${result.cpus} CPUs`,
    );
    console.log(
      `size        min µs     median µs   bus GB/s   memcpy GB/s   ratio (min)   ratio (median)   cpu µs/op   limit min µs   of limit   new-array min µs   new-array ratio   new-array cpu µs/op   tcp min µs   tcp ratio   tcp cpu µs/op   direct min µs   fresh memcpy µs${o.store ? '   via store min µs' : ''}`,
    );
    for (const r of rows) {
      console.log(
        `${label(r.bytes).padEnd(10)}${String(r.allreduce_us_min).padStart(10)}${String(r.allreduce_us_median).padStart(14)}${r.busbw_gbps.toFixed(3).padStart(11)}${r.memcpy_gbps.toFixed(2).padStart(14)}${r.ratio.toFixed(3).padStart(14)}${r.ratio_median.toFixed(3).padStart(17)}${String(r.cpu_us_per_op).padStart(12)}${String(r.limit_us_min).padStart(15)}${r.of_limit.toFixed(3).padStart(11)}${String(r.new_array_us_min).padStart(19)}${r.new_array_ratio.toFixed(3).padStart(18)}${String(r.new_array_cpu_us_per_op).padStart(22)}${String(r.tcp_us_min).padStart(13)}${r.tcp_ratio.toFixed(3).padStart(12)}${String(r.tcp_cpu_us_per_op).padStart(16)}${String(r.direct_us_min).padStart(16)}${String(r.fresh_memcpy_us_min).padStart(18)}${o.store ? String(r.store_us_min).padStart(20) : ''}`,
      );
    }
    console.log(
      `size        shared min µs   shared median µs   shared ratio (min)   (median)   shared cpu µs/op   memcpy cpu µs   shared cpu ratio   cpu µs/op   cpu ratio   cross min µs   cross ratio   cross cpu µs/op   cross cpu ratio`,
    );
    for (const r of rows) {
      console.log(
        `${label(r.bytes).padEnd(10)}${String(r.shared_us_min).padStart(15)}${String(r.shared_us_median).padStart(19)}${r.shared_ratio.toFixed(3).padStart(21)}${r.shared_ratio_median.toFixed(3).padStart(11)}${String(r.shared_cpu_us_per_op).padStart(19)}${String(r.memcpy_cpu_us).padStart(16)}${r.shared_cpu_ratio.toFixed(3).padStart(19)}${String(r.cpu_us_per_op).padStart(12)}${r.cpu_ratio.toFixed(3).padStart(12)}${String(r.cross_us_min).padStart(15)}${r.cross_ratio.toFixed(3).padStart(14)}${String(r.cross_cpu_us_per_op).padStart(18)}${r.cross_cpu_ratio.toFixed(3).padStart(18)}`,
      );
    }
    console.log(
      `1 KiB latency ${result.latency_1kib_us} µs (target < 200: ${result.latency_1kib_us < 200 ? 'met' : 'not met'}); min ratio for >= 16 MiB ${result.min_ratio_16mib_up} (target >= 0.5: ${result.min_ratio_16mib_up >= 0.5 ? 'met' : 'not met'}; new array each call ${result.min_new_array_ratio_16mib_up}; TCP path ${result.min_tcp_ratio_16mib_up}; cross memory ${result.min_cross_ratio_16mib_up}); shared arrays (group.sharedArray) ${result.min_shared_ratio_16mib_up}; by CPU time: shared arrays ${result.min_shared_cpu_ratio_16mib_up}, private arrays (region) ${result.min_cpu_ratio_16mib_up}`,
    );
    if (o.json) console.log(JSON.stringify(result));
  } finally {
    await tray.shutdown();
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
