#!/usr/bin/env node
// Two nodes on this machine, started the way a user starts them (`tray start --head`, then
// `tray start --address` for a second node with its own object store and a resource only it
// has), and a driver on the head. Measures, in one run:
//   - moving a large object between the nodes' stores (a 128 MiB put on the head read by a task
//     on node B, and a 128 MiB result made on B read by the driver), against a memcpy of the
//     same size in the same process: GB/s and the ratio;
//   - the same 128 MiB sent over raw TCP loopback from this process to another Node process (a
//     socket write of 1 MiB chunks, the receiver acknowledging the last byte), interleaved round
//     by round with the transfers: the physical figure a transfer between nodes is held to
//     (issue 17: ≥ 0.8× of it);
//   - trivial tasks leased on node B (spillback, pushed over TCP) against the same tasks on the
//     head (Unix sockets), batches of 1,000: tasks/s and the ratio.
//   node tools/bench/multinode.mjs [--json] [--rounds 3]
// Needs the built workspace (`npm run build`).
import { execFile, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, wholeNumberOption } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', '..', 'packages', 'cli', 'dist', 'bin.js');
const MiB = 1024 * 1024;
const OBJECT_BYTES = 128 * MiB;
const BATCH = 1000;

function options(args) {
  const rounds = wholeNumberOption('--rounds', 3, 'node tools/bench/multinode.mjs [--json] [--rounds 3]', {
    args,
  });
  return { json: args.includes('--json'), rounds };
}

function tray(args, tmpdir, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env, TMPDIR: tmpdir }, timeout: 120_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`tray ${args.join(' ')} failed: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

const record = (tmp) => JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));
const seconds = async (fn) => {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
};

async function main() {
  const opts = options(process.argv.slice(2));
  const headDir = mkdtempSync(path.join(os.tmpdir(), 'tray-bench-head-'));
  const nodeDir = mkdtempSync(path.join(os.tmpdir(), 'tray-bench-node-'));
  // Room for every round's objects: a view pins its object until the process holding it collects it.
  const store = String(8 * OBJECT_BYTES);
  try {
    await tray(
      ['start', '--head', '--port', '0', '--num-cpus', '2', '--object-store-memory', store],
      headDir,
    );
    const head = record(headDir);
    const token = readFileSync(head.tokenFile, 'utf8').trim();
    await tray(
      [
        'start',
        '--address',
        head.gcsAddress,
        '--num-cpus',
        '2',
        '--resources',
        '{"nodeB": 2}',
        '--object-store-memory',
        store,
      ],
      nodeDir,
      { TRAY_TOKEN: token },
    );
    process.env.TMPDIR = headDir;
    const trayApi = await import('@tray/core');
    await trayApi.init({ address: head.gcsAddress, token, logToDriver: false });
    try {
      const result = await measure(trayApi, opts.rounds);
      report(result);
      if (opts.json) console.log(JSON.stringify(result));
    } finally {
      await trayApi.shutdown();
    }
  } finally {
    await tray(['stop'], nodeDir).catch(() => {});
    await tray(['stop'], headDir).catch(() => {});
    rmSync(headDir, { recursive: true, force: true });
    rmSync(nodeDir, { recursive: true, force: true });
  }
}

/** The receiving end of the raw TCP figure: counts bytes, acknowledges each whole object. */
function tcpSink() {
  const server = net.createServer((socket) => {
    let got = 0;
    socket.on('data', (chunk) => {
      got += chunk.length;
      while (got >= OBJECT_BYTES) {
        got -= OBJECT_BYTES;
        socket.write('k');
      }
    });
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
  process.on('disconnect', () => process.exit(0));
}

/** A Node process receiving on loopback, and a function sending it one object's bytes (GB/s). */
async function rawTcp() {
  const child = fork(fileURLToPath(import.meta.url), ['--tcp-sink'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('error', reject);
  });
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.setNoDelay(true);
  const chunk = Buffer.alloc(MiB, 5);
  const send = async () => {
    const acked = new Promise((resolve) => socket.once('data', resolve));
    const start = performance.now();
    for (let sent = 0; sent < OBJECT_BYTES; sent += MiB) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    await acked;
    return OBJECT_BYTES / ((performance.now() - start) / 1000) / 1e9;
  };
  return {
    send,
    close: () => {
      socket.destroy();
      child.disconnect();
    },
  };
}

async function measure(t, rounds) {
  const onB = { resources: { nodeB: 1 } };
  const length = t.remote((a) => a.length).options(onB);
  const make = t.remote((n) => new Uint8Array(n).fill(7)).options(onB);
  const plainHere = t.remote((x) => x + 1);
  const plainOnB = plainHere.options(onB);
  // Warm both nodes' workers and connections.
  await t.get([length.remote(new Uint8Array(10)), plainHere.remote(0), plainOnB.remote(0)]);

  const memcpy = [];
  const toB = [];
  const fromB = [];
  const tcp = [];
  const raw = await rawTcp();
  await raw.send(); // warm the connection
  const source = Buffer.alloc(OBJECT_BYTES, 3);
  const target = Buffer.alloc(OBJECT_BYTES);
  for (let r = 0; r < rounds; r++) {
    memcpy.push(OBJECT_BYTES / (await seconds(async () => source.copy(target))) / 1e9);
    const ref = await t.put(source);
    // The task itself is trivial: its time is the pull to node B and a view of the result.
    const small = await seconds(() => t.get(length.remote(new Uint8Array(10))));
    const big = await seconds(() => t.get(length.remote(ref)));
    toB.push(OBJECT_BYTES / Math.max(big - small, 1e-6) / 1e9);
    tcp.push(await raw.send());
    const made = make.remote(OBJECT_BYTES);
    await t.wait([made]); // made on B; the get below is the pull to the head and a view of it
    fromB.push(OBJECT_BYTES / (await seconds(() => t.get(made))) / 1e9);
  }
  raw.close();

  const args = Array.from({ length: BATCH }, (_, i) => i);
  const batchRate = async (fn) => {
    let n = 0;
    const s = await seconds(async () => {
      const start = performance.now();
      while (performance.now() - start < 1000) {
        await t.get(args.map((i) => fn.remote(i)));
        n += BATCH;
      }
    });
    return n / s;
  };
  const local = [];
  const remote = [];
  for (let r = 0; r < rounds; r++) {
    local.push(await batchRate(plainHere));
    remote.push(await batchRate(plainOnB));
  }
  const m = (xs) => Math.round(median(xs) * 100) / 100;
  const r2 = (x) => Math.round(x * 100) / 100;
  // Each round's transfer against that round's raw TCP: min / median / max (a noisy machine).
  const spread = (xs) => ({ min: r2(Math.min(...xs)), median: m(xs), max: r2(Math.max(...xs)) });
  return {
    object_mib: OBJECT_BYTES / MiB,
    memcpy_gbps: m(memcpy),
    head_to_b_gbps: m(toB),
    b_to_head_gbps: m(fromB),
    head_to_b_vs_memcpy: m(toB.map((x, i) => x / memcpy[i])),
    raw_tcp_gbps: m(tcp),
    head_to_b_vs_raw_tcp: m(toB.map((x, i) => x / tcp[i])),
    b_to_head_vs_raw_tcp: m(fromB.map((x, i) => x / tcp[i])),
    head_to_b_vs_raw_tcp_spread: spread(toB.map((x, i) => x / tcp[i])),
    b_to_head_vs_raw_tcp_spread: spread(fromB.map((x, i) => x / tcp[i])),
    local_tasks_per_s: Math.round(median(local)),
    remote_tasks_per_s: Math.round(median(remote)),
    remote_vs_local_tasks: m(remote.map((x, i) => x / local[i])),
    rounds,
    load_1m: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

function report(r) {
  const row = (label, value) => console.log(`${label.padEnd(44)} ${String(value).padStart(10)}`);
  console.log(
    `two nodes on one machine (${os.cpus().length} cores, load ${r.load_1m}), median of ${r.rounds} rounds`,
  );
  row(`memcpy of ${r.object_mib} MiB (GB/s)`, r.memcpy_gbps);
  row('object head → node B store (GB/s)', r.head_to_b_gbps);
  row('object node B → head store (GB/s)', r.b_to_head_gbps);
  row('head → B transfer / memcpy', r.head_to_b_vs_memcpy);
  row('raw TCP loopback, Node → Node (GB/s)', r.raw_tcp_gbps);
  row('head → B transfer / raw TCP (target ≥ 0.8)', r.head_to_b_vs_raw_tcp);
  row('B → head transfer / raw TCP', r.b_to_head_vs_raw_tcp);
  const range = (s) => `${s.min} / ${s.median} / ${s.max}`;
  row('  head → B / raw TCP, min / median / max', range(r.head_to_b_vs_raw_tcp_spread));
  row('  B → head / raw TCP, min / median / max', range(r.b_to_head_vs_raw_tcp_spread));
  row('tasks on the head (tasks/s)', r.local_tasks_per_s.toLocaleString('en-US'));
  row('tasks on node B, spilled back (tasks/s)', r.remote_tasks_per_s.toLocaleString('en-US'));
  row('node B / head task throughput', r.remote_vs_local_tasks);
}

if (process.argv[2] === '--tcp-sink') tcpSink();
else {
  main().catch((err) => {
    console.error(err.stack ?? String(err));
    process.exit(1);
  });
}
