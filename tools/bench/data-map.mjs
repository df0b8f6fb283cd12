#!/usr/bin/env node
// @tray/data batch-map throughput against the best single-process Node pipeline with the same
// libraries, in one run on the same files: read Parquet → a numeric transform per batch
// (z = 2x + y over float64 columns) → write Parquet. The peer reads each file with parquet-wasm,
// transforms the Arrow columns in place of a new table and writes it back, one file after the
// other in this process. @tray/data runs readParquet(dir).mapBatches(fn).writeParquet(out) on a
// local cluster of --cpus CPUs (fused into one task per file). Both are timed after a warm-up
// (the cluster's workers loaded; the peer's WebAssembly compiled); the ratio is peer time / data
// time (> 1: data is faster). Rounds are interleaved, the order alternating (peer then data, then
// data then peer), and the ratio is the median of each round's own ratio, so a load change
// between rounds on a shared machine does not decide it; each round's ratio and load are printed.
// DuckDB's Node bindings (@duckdb/node-api, a devDependency: prebuilt
// binaries as optional dependencies, no install script) run the same query with as many
// threads — COPY (SELECT x, y, 2 * x + y AS z FROM read_parquet(...)) TO ... (FORMAT parquet) —
// as a third peer (duckdb_ratio = DuckDB time / data time). Prints a table; `--json` also
// prints one JSON line last:
//   { data_mib_per_s, single_process_mib_per_s, ratio, duckdb_mib_per_s, duckdb_ratio, ... }
// Options: --mib 256 (input size, in-memory Arrow bytes) --files 8 --cpus 2 --rounds 4.
// TRAY_BENCH_ISSUE_SIZES=1 makes the default --mib 1024 (issue 13's size) and --files 16.
// Needs the built workspace (`npm run build`).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { makeVector, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { wholeNumberOption } from './lib.mjs';

const USAGE = 'node tools/bench/data-map.mjs [--json] [--mib 256] [--files 8] [--cpus 2] [--rounds 4]';
const option = (name, fallback) => wholeNumberOption(name, fallback, USAGE);

// biome-ignore lint/suspicious/noUndeclaredEnvVars: read by this script, not a build input
const ISSUE_SIZES = process.env.TRAY_BENCH_ISSUE_SIZES === '1';
const MIB = option('--mib', ISSUE_SIZES ? 1024 : 256);
const FILES = option('--files', ISSUE_SIZES ? 16 : 8);
const CPUS = option('--cpus', 2);
const ROUNDS = option('--rounds', 4);
const json = process.argv.includes('--json');
const BYTES_PER_ROW = 16; // x and y, float64

function transform(batch) {
  const x = batch.x;
  const y = batch.y;
  const z = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) z[i] = 2 * x[i] + y[i];
  return { x, y, z };
}

function writeInputs(dir) {
  const rows = Math.floor((MIB * 2 ** 20) / BYTES_PER_ROW / FILES);
  for (let f = 0; f < FILES; f++) {
    const x = new Float64Array(rows);
    const y = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      x[i] = (i * 0.5 + f) % 1000;
      y[i] = (i % 97) * 0.25;
    }
    const table = new Table({ x: makeVector(x), y: makeVector(y) });
    writeFileSync(
      path.join(dir, `in_${f}.parquet`),
      pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, 'stream'))),
    );
  }
  return rows * FILES;
}

function singleProcess(inDir, outDir) {
  mkdirSync(outDir, { recursive: true });
  for (const name of readdirSync(inDir).sort()) {
    // One record batch per file, as @tray/data's read tasks ask for (the reader's default is 1,024 rows).
    const bytes = readFileSync(path.join(inDir, name));
    const table = tableFromIPC(pw.readParquet(bytes, { batchSize: 1 << 30 }).intoIPCStream());
    const out = transform({ x: table.getChild('x').toArray(), y: table.getChild('y').toArray() });
    const result = new Table({ x: makeVector(out.x), y: makeVector(out.y), z: makeVector(out.z) });
    writeFileSync(
      path.join(outDir, name),
      pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(result, 'stream'))),
    );
  }
}

/** DuckDB doing the same read -> transform -> write, or undefined when it is not installed. */
async function duckdbPeer() {
  let duckdb;
  try {
    duckdb = await import('@duckdb/node-api');
  } catch {
    return undefined;
  }
  const instance = await duckdb.DuckDBInstance.create(':memory:', { threads: String(CPUS) });
  const conn = await instance.connect();
  return {
    run: async (inDir, outDir) => {
      mkdirSync(outDir, { recursive: true });
      const from = path.join(inDir, '*.parquet').replaceAll("'", "''");
      const to = outDir.replaceAll("'", "''");
      await conn.run(
        `COPY (SELECT x, y, 2 * x + y AS z FROM read_parquet('${from}')) TO '${to}' (FORMAT parquet, PER_THREAD_OUTPUT true, OVERWRITE_OR_IGNORE true)`,
      );
    },
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

async function withData(inDir, outDir) {
  await data.readParquet(inDir).mapBatches(transform, { batchFormat: 'columns' }).writeParquet(outDir);
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const work = mkdtempSync(path.join(tmpdir(), 'tray-bench-data-'));
try {
  const inDir = path.join(work, 'in');
  mkdirSync(inDir);
  const rows = writeInputs(inDir);
  const inputMib = (rows * BYTES_PER_ROW) / 2 ** 20;
  await tray.init({ numCpus: CPUS, objectStoreMemory: Math.max(256, MIB * 2) * 2 ** 20 });
  // Warm-up: workers started and parquet-wasm compiled in them; the peer's copy compiled here.
  await withData(inDir, path.join(work, 'warm-data'));
  singleProcess(inDir, path.join(work, 'warm-peer'));
  rmSync(path.join(work, 'warm-data'), { recursive: true, force: true });
  rmSync(path.join(work, 'warm-peer'), { recursive: true, force: true });
  const duck = await duckdbPeer();
  const peerTimes = [];
  const dataTimes = [];
  const duckTimes = [];
  const roundRatios = [];
  for (let r = 0; r < ROUNDS; r++) {
    const peerRound = () => timed(() => singleProcess(inDir, path.join(work, `peer-${r}`)));
    const dataRound = () => timed(() => withData(inDir, path.join(work, `data-${r}`)));
    let peerSeconds;
    let dataSeconds;
    if (r % 2 === 0) {
      peerSeconds = await peerRound();
      dataSeconds = await dataRound();
    } else {
      dataSeconds = await dataRound();
      peerSeconds = await peerRound();
    }
    peerTimes.push(peerSeconds);
    dataTimes.push(dataSeconds);
    roundRatios.push(peerSeconds / dataSeconds);
    console.log(
      `  (round ${r + 1}: data ${dataSeconds.toFixed(2)} s, single process ${peerSeconds.toFixed(2)} s, ratio ${(peerSeconds / dataSeconds).toFixed(2)}x, load ${loadavg()[0].toFixed(1)})`,
    );
    if (duck) duckTimes.push(await timed(() => duck.run(inDir, path.join(work, `duck-${r}`))));
    for (const d of ['peer', 'data', 'duck'])
      rmSync(path.join(work, `${d}-${r}`), { recursive: true, force: true });
  }
  duck?.close();
  await tray.shutdown();
  const best = (xs) => Math.min(...xs);
  const sorted = [...roundRatios].sort((a, b) => a - b);
  const medianRatio =
    sorted.length % 2 === 1
      ? sorted[(sorted.length - 1) / 2]
      : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  const result = {
    data_mib_per_s: Math.round(inputMib / best(dataTimes)),
    single_process_mib_per_s: Math.round(inputMib / best(peerTimes)),
    ratio: Number(medianRatio.toFixed(2)),
    round_ratios: roundRatios.map((x) => Number(x.toFixed(2))),
    duckdb_mib_per_s: duck ? Math.round(inputMib / best(duckTimes)) : null,
    duckdb_ratio: duck ? Number((best(duckTimes) / best(dataTimes)).toFixed(2)) : null,
    input_mib: Math.round(inputMib),
    files: FILES,
    cpus: CPUS,
    machine_cpus: cpus().length,
    loadavg_1m: Number(loadavg()[0].toFixed(2)),
  };
  console.log('pipeline: readParquet -> mapBatches(z = 2x + y) -> writeParquet');
  console.log(
    `  @tray/data (${CPUS} CPUs)      ${result.data_mib_per_s} MiB/s  (best of ${ROUNDS}: ${best(dataTimes).toFixed(2)} s)`,
  );
  console.log(
    `  single process, same libs ${result.single_process_mib_per_s} MiB/s  (best of ${ROUNDS}: ${best(peerTimes).toFixed(2)} s)`,
  );
  if (duck)
    console.log(
      `  DuckDB (${CPUS} threads)      ${result.duckdb_mib_per_s} MiB/s  (best of ${ROUNDS}: ${best(duckTimes).toFixed(2)} s; data / DuckDB ${result.duckdb_ratio}x)`,
    );
  else console.log('  DuckDB: @duckdb/node-api is not installed (npm install), not measured');
  console.log(
    `  ratio ${result.ratio}x (median of ${ROUNDS} rounds' ratios: ${result.round_ratios.join(', ')}) over ${result.input_mib} MiB in ${FILES} files (load ${result.loadavg_1m})`,
  );
  if (json) console.log(JSON.stringify(result));
} finally {
  rmSync(work, { recursive: true, force: true });
}
