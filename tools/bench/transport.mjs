#!/usr/bin/env node
// Benchmarks tray's hot-path transport against its floor and against gRPC, in one run, each
// server in its own child process on a Unix socket:
//   framed      sequential round trips of @tray/protocol's framed transport (InternalKVGet)
//   raw         sequential length-prefixed ping-pong written directly with node:net (the floor)
//   grpc        sequential unary calls of @grpc/grpc-js through our gRPC helpers, same message
//   pipelined   framed messages per second with a window of requests in flight
// Prints a table; `--json` also prints one JSON line last. `--rounds N --seconds S` set how
// many interleaved rounds run and how long each measure lasts (default 6 × 0.5 s). Needs the
// built package: `npm run build -w @tray/protocol`.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const protocolUrl = new URL('../../packages/protocol/dist/index.js', import.meta.url);
const { connect, createGrpcClient, createGrpcServer, InternalKVGcsService, listen } = await import(
  protocolUrl.href
).catch((err) => {
  console.error(
    `cannot load ${fileURLToPath(protocolUrl)} (${err.message}); run: npm run build -w @tray/protocol`,
  );
  process.exit(1);
});

const METHOD = InternalKVGcsService.InternalKVGet;
// A small real message: a 28-byte key lookup answered with a 64-byte value.
const REQUEST = { namespace: 'bench', key: Buffer.alloc(28, 7) };
const REPLY = { found: true, value: Buffer.alloc(64, 9) };
const TOKEN = 'bench-token';

// ---------------------------------------------------------------- servers (child process side)

async function serve(kind, path) {
  if (kind === 'framed') {
    await listen(path, (c) => c.handle(METHOD, () => REPLY), { token: TOKEN });
  } else if (kind === 'grpc') {
    const server = createGrpcServer({ token: TOKEN });
    server.addService(InternalKVGcsService, { InternalKVGet: () => REPLY });
    await server.listen(`unix:${path}`);
  } else if (kind === 'raw') {
    const reply = lengthPrefixed(METHOD.encodeResponse(REPLY));
    const server = createServer((socket) => {
      socket.setNoDelay?.(true);
      onMessages(socket, () => socket.write(reply));
    });
    await new Promise((resolve) => server.listen(path, resolve));
  }
  process.send({ type: 'ready' });
  process.on('disconnect', () => process.exit(0));
}

function lengthPrefixed(payload) {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

/** Call `onMessage` for each complete length-prefixed message arriving on `socket`. */
function onMessages(socket, onMessage) {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    let buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (buf.length >= 4) {
      const end = 4 + buf.readUInt32LE(0);
      if (buf.length < end) break;
      onMessage(buf.subarray(4, end));
      buf = buf.subarray(end);
    }
    pending = buf;
  });
}

// ---------------------------------------------------------------- client (parent side)

function startServer(kind, path) {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind, path], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
    child.once('message', () => resolve(child));
  });
}

/** Run `once` back to back for `seconds` (after a short warm-up); returns completions/s. */
async function sequential(once, seconds) {
  const warmUntil = performance.now() + 100;
  while (performance.now() < warmUntil) await once();
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) await once();
    n += 50;
  }
  return (n / (performance.now() - start)) * 1000;
}

/** Keep `window` requests in flight for `seconds`; returns completions/s. */
async function pipelined(send, window, seconds) {
  let n = 0;
  let stop = false;
  const start = performance.now();
  const lane = async () => {
    while (!stop) {
      await send();
      n++;
    }
  };
  const lanes = Array.from({ length: window }, lane);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  const elapsed = performance.now() - start;
  const done = n;
  await Promise.all(lanes);
  return (done / elapsed) * 1000;
}

/** A started server and a client of it: `once()` is one sequential round trip. */
async function framedBench(path) {
  const child = await startServer('framed', path);
  const c = await connect(path, { token: TOKEN });
  return {
    once: () => c.request(METHOD, REQUEST),
    close: () => {
      c.close();
      child.kill();
    },
  };
}

async function rawBench(path) {
  const child = await startServer('raw', path);
  const socket = createConnection(path);
  await new Promise((r) => socket.once('connect', r));
  socket.setNoDelay?.(true);
  const request = lengthPrefixed(METHOD.encodeRequest(REQUEST));
  let waiting;
  onMessages(socket, () => waiting());
  const once = () =>
    new Promise((resolve) => {
      waiting = resolve;
      socket.write(request);
    });
  return {
    once,
    close: () => {
      socket.destroy();
      child.kill();
    },
  };
}

async function grpcBench(path) {
  const child = await startServer('grpc', path);
  const client = createGrpcClient(`unix:${path}`, { token: TOKEN });
  return {
    once: () => client.call(METHOD, REQUEST),
    close: () => {
      client.close();
      child.kill();
    },
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
  const seconds = option('--seconds', 0.5);
  const rounds = option('--rounds', 6);
  const windows = [64, 256, 1024];
  const dir = mkdtempSync(join(tmpdir(), 'tray-bench-'));
  const benches = {};
  try {
    benches.raw = await rawBench(join(dir, 'raw'));
    benches.framed = await framedBench(join(dir, 'framed'));
    benches.grpc = await grpcBench(join(dir, 'grpc'));
    // The machine is shared and noisy: interleave short rounds so that each kind sees the same
    // conditions, and keep the median. Ratios are taken per round, between neighbours in time.
    const per = { raw: [], framed: [], grpc: [] };
    const vsRaw = [];
    const vsGrpc = [];
    for (let r = 0; r < rounds; r++) {
      for (const kind of ['raw', 'framed', 'grpc'])
        per[kind].push(await sequential(benches[kind].once, seconds));
      vsRaw.push(per.raw[r] / per.framed[r]);
      vsGrpc.push(per.framed[r] / per.grpc[r]);
    }
    const piped = {};
    for (const w of windows) piped[w] = await pipelined(benches.framed.once, w, seconds * 2);
    const raw = median(per.raw);
    const framed = median(per.framed);
    const grpc = median(per.grpc);
    const bestWindow = windows.reduce((a, b) => (piped[b] > piped[a] ? b : a));
    const result = {
      framed_rtt_per_s: Math.round(framed),
      raw_rtt_per_s: Math.round(raw),
      grpc_rtt_per_s: Math.round(grpc),
      framed_pipelined_per_s: Math.round(piped[bestWindow]),
      framed_pipelined_window: bestWindow,
      ...Object.fromEntries(windows.map((w) => [`framed_pipelined_${w}_per_s`, Math.round(piped[w])])),
      // Latency ratio: how many times longer a framed round trip takes than the raw floor's.
      framed_vs_raw: round2(median(vsRaw)),
      // Throughput ratio: how many framed round trips fit in the time of one grpc-js call.
      framed_vs_grpc: round2(median(vsGrpc)),
      rounds,
      seconds_per_measure: seconds,
      machine: `${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, node ${process.version}, ${process.platform}, load ${loadavg()[0].toFixed(1)}`,
    };
    const us = (perS) => (1e6 / perS).toFixed(1);
    const rows = [
      ['raw ping-pong (floor)', raw, us(raw)],
      ['framed sequential', framed, us(framed)],
      ['grpc-js sequential', grpc, us(grpc)],
      ...windows.map((w) => [`framed pipelined ×${w}`, piped[w], '']),
    ];
    console.log(
      `transport benchmark: Unix sockets, servers in child processes, median of ${rounds} rounds of ${seconds} s`,
    );
    console.log(`${'measure'.padEnd(26)}${'per second'.padStart(12)}${'µs/rtt'.padStart(10)}`);
    for (const [name, perS, lat] of rows) {
      console.log(`${name.padEnd(26)}${String(Math.round(perS)).padStart(12)}${String(lat).padStart(10)}`);
    }
    const latencyOk = result.framed_vs_raw <= 1.5 ? 'ok' : 'MISSED';
    const grpcOk = result.framed_vs_grpc >= 10 ? 'ok' : 'MISSED';
    console.log(`framed latency ${result.framed_vs_raw}× raw (target ≤ 1.5×: ${latencyOk})`);
    console.log(`framed ${result.framed_vs_grpc}× grpc-js sequential (target ≥ 10×: ${grpcOk})`);
    console.log(result.machine);
    if (json) console.log(JSON.stringify(result));
  } finally {
    for (const bench of Object.values(benches)) bench.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round2 = (x) => Math.round(x * 100) / 100;

if (process.argv[2] === '--serve') await serve(process.argv[3], process.argv[4]);
else await main();
