#!/usr/bin/env node
// @tray/data's consumer path: readParquet(dir).iterBatches({ batchSize, batchFormat }) into a
// consumer that touches every value of one column, against reading the same files directly in
// this process (parquet-wasm, one record batch per file as the read tasks ask for) and cutting
// them into the same batches the cheapest plain way (typed-array subarrays for 'columns', row
// objects from them for 'rows', RecordBatch slices for 'arrow'). For batchSize 256 and 4096 and
// each batch format, batches/s of both and the ratio data / direct (target ≥ 0.8), with the
// driver's CPU time per batch. Files are written once; each case runs --rounds times (median).
// Options: --mib 64 --files 4 --cpus 2 --rounds 3; `--json` prints one JSON line last.
// TRAY_BENCH_ISSUE_SIZES=1 makes the default --mib 256. Needs the built workspace.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { makeVector, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { median, wholeNumberOption } from './lib.mjs';

const USAGE = 'node tools/bench/data-iter.mjs [--json] [--mib 64] [--files 4] [--cpus 2] [--rounds 3]';
const option = (name, fallback) => wholeNumberOption(name, fallback, USAGE);

// biome-ignore lint/suspicious/noUndeclaredEnvVars: read by this script, not a build input
const ISSUE_SIZES = process.env.TRAY_BENCH_ISSUE_SIZES === '1';
const MIB = option('--mib', ISSUE_SIZES ? 256 : 64);
const FILES = option('--files', 4);
const CPUS = option('--cpus', 2);
const ROUNDS = option('--rounds', 3);
const json = process.argv.includes('--json');
const TARGET = 0.8;

function writeInputs(dir) {
  // x, y float64 and id int32: 20 bytes a row.
  const rows = Math.floor((MIB * 2 ** 20) / 20 / FILES);
  for (let f = 0; f < FILES; f++) {
    const x = new Float64Array(rows);
    const y = new Float64Array(rows);
    const id = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      x[i] = (i * 0.5 + f) % 1000;
      y[i] = (i % 97) * 0.25;
      id[i] = f * rows + i;
    }
    const table = new Table({ x: makeVector(x), y: makeVector(y), id: makeVector(id) });
    writeFileSync(
      path.join(dir, `in_${f}.parquet`),
      pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, 'stream'))),
    );
  }
  return rows * FILES;
}

/** What the consumer does with a batch: sums column x (so every batch is really there). */
function consume(batch, format) {
  let s = 0;
  if (format === 'rows') {
    for (let i = 0; i < batch.length; i++) s += batch[i].x;
  } else {
    const x = format === 'arrow' ? batch.getChild('x').toArray() : batch.x;
    for (let i = 0; i < x.length; i++) s += x[i];
  }
  return s;
}

/** Reading the files here and cutting batches the cheapest plain way. */
function direct(dir, size, format) {
  let n = 0;
  let sum = 0;
  for (const name of readdirSync(dir).sort()) {
    const t = tableFromIPC(
      pw.readParquet(readFileSync(path.join(dir, name)), { batchSize: 1 << 30 }).intoIPCStream(),
    );
    for (const rb of t.batches) {
      const names = rb.schema.fields.map((f) => f.name);
      const cols = names.map((c) => rb.getChild(c).toArray());
      for (let s = 0; s < rb.numRows; s += size) {
        const e = Math.min(rb.numRows, s + size);
        let batch;
        if (format === 'arrow') batch = new Table([rb.slice(s, e)]);
        else if (format === 'columns') {
          batch = {};
          for (let c = 0; c < names.length; c++) batch[names[c]] = cols[c].subarray(s, e);
        } else {
          batch = new Array(e - s);
          for (let i = s; i < e; i++) {
            const row = {};
            for (let c = 0; c < names.length; c++) row[names[c]] = cols[c][i];
            batch[i - s] = row;
          }
        }
        sum += consume(batch, format);
        n++;
      }
    }
  }
  return { n, sum };
}

async function viaData(dir, size, format) {
  let n = 0;
  let sum = 0;
  for await (const batch of data.readParquet(dir).iterBatches({ batchSize: size, batchFormat: format })) {
    sum += consume(batch, format);
    n++;
  }
  return { n, sum };
}

async function timed(fn) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const result = await fn();
  const used = process.cpuUsage(cpu);
  return {
    seconds: Number(process.hrtime.bigint() - start) / 1e9,
    cpuSeconds: (used.user + used.system) / 1e6,
    result,
  };
}

const work = mkdtempSync(path.join(tmpdir(), 'tray-bench-iter-'));
try {
  const rows = writeInputs(work);
  await tray.init({ numCpus: CPUS, objectStoreMemory: Math.max(256, MIB * 3) * 2 ** 20 });
  await viaData(work, 4096, 'columns'); // warm-up: workers started, parquet-wasm compiled there
  direct(work, 4096, 'columns');
  const cases = [];
  for (const size of [256, 4096]) {
    for (const format of ['arrow', 'columns', 'rows']) {
      const ratios = [];
      let last;
      for (let r = 0; r < ROUNDS; r++) {
        const d = await timed(() => viaData(work, size, format));
        const p = await timed(async () => direct(work, size, format));
        // data joins a batch across files where direct starts each file afresh: equal sums, not counts.
        if (d.result.sum !== p.result.sum) {
          throw new Error(
            `batchSize ${size} ${format}: data gave ${d.result.n} batches (sum ${d.result.sum}), direct ${p.result.n} (sum ${p.result.sum})`,
          );
        }
        ratios.push(p.seconds / d.seconds);
        last = { d, p };
      }
      const c = {
        batch_size: size,
        format,
        batches: last.d.result.n,
        data_batches_per_s: Math.round(last.d.result.n / last.d.seconds),
        direct_batches_per_s: Math.round(last.p.result.n / last.p.seconds),
        data_driver_cpu_us_per_batch: Number(((last.d.cpuSeconds * 1e6) / last.d.result.n).toFixed(1)),
        direct_cpu_us_per_batch: Number(((last.p.cpuSeconds * 1e6) / last.p.result.n).toFixed(1)),
        ratio: Number(median(ratios).toFixed(2)),
        ratios: ratios.map((x) => Number(x.toFixed(2))),
        loadavg_1m: Number(loadavg()[0].toFixed(2)),
      };
      cases.push(c);
      console.log(
        `iterBatches(${String(size).padStart(4)}, ${format.padEnd(7)}) ${String(c.data_batches_per_s).padStart(7)} batches/s ` +
          `(driver ${c.data_driver_cpu_us_per_batch} µs CPU/batch) vs direct ${String(c.direct_batches_per_s).padStart(7)} ` +
          `(${c.direct_cpu_us_per_batch} µs) ratio ${c.ratio} [${c.ratios.join(', ')}] ${c.ratio >= TARGET ? 'meets' : 'misses'} ${TARGET} (load ${c.loadavg_1m})`,
      );
    }
  }
  await tray.shutdown();
  const met = cases.every((c) => c.ratio >= TARGET);
  console.log(
    `${MIB} MiB of Parquet, ${rows} rows in ${FILES} files, ${CPUS} CPUs: target ${met ? 'met' : 'not met'}`,
  );
  if (json)
    console.log(
      JSON.stringify({
        input_mib: MIB,
        files: FILES,
        cpus: CPUS,
        rows,
        target_met: met,
        min_ratio: Math.min(...cases.map((c) => c.ratio)),
        cases,
      }),
    );
} finally {
  rmSync(work, { recursive: true, force: true });
}
