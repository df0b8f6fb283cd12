// @tray/data against a real local cluster (tray.init: GCS, raylet and worker processes) and real
// files this test writes: transforms checked against plain JS, the file sources and sinks
// (including a Parquet round trip that rewrites the same bytes), shuffles, sorts and groupBy
// checked against single-process computations, an actor pool that builds its state once per
// actor, and bad input (a throwing function, a malformed CSV line, missing files and columns).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tray-data-'));
  await tray.init({ numCpus: 4, objectStoreMemory: 256 * 1024 * 1024 });
});

afterAll(async () => {
  await tray.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('transforms', () => {
  it('map, filter, flatMap, mapBatches and column ops give what plain JS gives', async () => {
    const ds = data
      .range(1000, { overrideNumBlocks: 8 })
      .map((r) => ({ id: r.id, sq: r.id * r.id }))
      .filter((r) => r.id % 3 === 0)
      .flatMap((r) => [r, { id: -r.id, sq: r.sq }])
      .mapBatches((b) => ({ ...b, half: Array.from(b.sq as ArrayLike<number>, (v) => v / 2) }), {
        batchSize: 7,
      })
      .addColumn('neg', (b) => Array.from(b.id as ArrayLike<number>, (v) => -v))
      .dropColumns(['sq']);
    const expected = [];
    for (let id = 0; id < 1000; id++) {
      if (id % 3 !== 0) continue;
      // ids stay int32 (no -0 there); the computed neg column is float64.
      for (const v of [id, -id]) expected.push({ id: v || 0, half: (id * id) / 2, neg: -(v || 0) });
    }
    expect(await ds.takeAll()).toEqual(expected);
    expect(await ds.count()).toBe(expected.length);
    expect(await ds.selectColumns(['neg']).take(2)).toEqual([{ neg: -0 }, { neg: -0 }]);
    expect((await ds.schema())?.fields.map((f) => f.name)).toEqual(['id', 'half', 'neg']);
    expect(await data.range(100).limit(5).takeAll()).toEqual([0, 1, 2, 3, 4].map((id) => ({ id })));
    // The fused read+map+filter+... ran as one operator.
    expect(ds.stats()).toMatch(/ReadRange->Map\(fn\)->Filter\(fn\)->FlatMap/);
  });

  it('mapBatches hands each batch format and iterBatches cuts batches of batchSize', async () => {
    const rows = await data
      .range(10, { overrideNumBlocks: 2 })
      .mapBatches((b) => b.map((r: { id: number }) => ({ id: r.id, tag: `r${r.id}` })), {
        batchFormat: 'rows',
      })
      .mapBatches((t) => t.select(['tag']), { batchFormat: 'arrow' })
      .takeAll();
    expect(rows).toEqual(Array.from({ length: 10 }, (_, i) => ({ tag: `r${i}` })));
    const sizes: number[] = [];
    for await (const batch of data
      .range(1000, { overrideNumBlocks: 3 })
      .iterBatches({ batchSize: 256, batchFormat: 'columns' })) {
      sizes.push((batch as { id: Int32Array }).id.length);
    }
    expect(sizes).toEqual([256, 256, 256, 232]);
  });

  it('a task whose output exceeds targetMaxBlockSize streams it out as several blocks', async () => {
    const ctx = data.DataContext.getCurrent();
    const saved = ctx.targetMaxBlockSize;
    ctx.targetMaxBlockSize = 4096;
    try {
      const ds = await data
        .range(4000, { overrideNumBlocks: 1 })
        .map((r) => ({ id: r.id, x: r.id * 0.5 }))
        .materialize();
      const blocks = await ds.materializedBlocks();
      expect(blocks.length).toBeGreaterThan(1);
      expect(blocks.every((b) => b.meta.sizeBytes <= 4096 * 1.5)).toBe(true);
      expect((await ds.takeAll()).map((r) => r.id)).toEqual([...Array(4000).keys()]);
    } finally {
      ctx.targetMaxBlockSize = saved;
    }
  });

  it("a union's and a limit's operators come before the operator they feed (stats, reservations)", async () => {
    // Their inputs were executed once the first block was asked for, after the operator
    // downstream had registered: it came first, and the reservations, which take each
    // operator's outputs to go to the next one listed, gave shares in the wrong order.
    const a = data.range(100, { overrideNumBlocks: 2 }).map(function fa(r) {
      return r;
    });
    const b = data.range(100, { overrideNumBlocks: 2 }).map(function fb(r) {
      return r;
    });
    const unioned = a.union(b).map(
      function fh(r) {
        return r;
      },
      { numCpus: 0.5 },
    );
    expect(await unioned.count()).toBe(200);
    expect(unioned.stats()).toMatch(
      /Operator 1 ReadRange->Map\(fa\)[\s\S]*Operator 2 ReadRange->Map\(fb\)[\s\S]*Operator 3 Map\(fh\)/,
    );
    const limited = data
      .range(100, { overrideNumBlocks: 2 })
      .limit(50)
      .map(function fl(r) {
        return r;
      });
    expect(await limited.count()).toBe(50);
    expect(limited.stats()).toMatch(
      /Operator 1 ReadRange[\s\S]*Operator 2 Limit\(50\)[\s\S]*Operator 3 Map\(fl\)/,
    );
  });

  it('union, zip, split, streamingSplit and trainTestSplit partition the rows', async () => {
    const a = data.range(10, { overrideNumBlocks: 2 });
    expect((await a.union(data.range(3)).takeAll()).map((r) => r.id)).toEqual([...Array(10).keys(), 0, 1, 2]);
    const zipped = await a.zip(a.map((r) => ({ twice: r.id * 2 }))).takeAll();
    expect(zipped).toEqual(Array.from({ length: 10 }, (_, id) => ({ id, twice: id * 2 })));
    const parts = await data.range(10).split(3, { equal: true });
    expect(await Promise.all(parts.map((p) => p.count()))).toEqual([3, 3, 3]);
    const iterators = data.range(100, { overrideNumBlocks: 10 }).streamingSplit(2);
    const seen = await Promise.all(
      iterators.map(async (it) => {
        const ids: number[] = [];
        for await (const row of it.iterRows()) ids.push(row.id as number);
        return ids;
      }),
    );
    expect(seen.flat().sort((x, y) => x - y)).toEqual([...Array(100).keys()]);
    const [train, test] = await data.range(100).trainTestSplit(0.25, { shuffle: true, seed: 3 });
    const trainIds = (await train.takeAll()).map((r) => r.id);
    const testIds = (await test.takeAll()).map((r) => r.id);
    expect(testIds.length).toBe(25);
    expect([...trainIds, ...testIds].sort((x, y) => x - y)).toEqual([...Array(100).keys()]);
  });
});

describe('all-to-all', () => {
  const items = Array.from({ length: 500 }, (_, i) => ({ k: `g${(i * 7) % 13}`, v: (i * 37) % 101, i }));

  it('randomShuffle is a seeded permutation and sort matches Array.prototype.sort', async () => {
    const ds = data.fromItems<(typeof items)[number]>(items, { overrideNumBlocks: 5 });
    const once = (await ds.randomShuffle({ seed: 42 }).takeAll()).map((r) => r.i);
    const again = (await ds.randomShuffle({ seed: 42 }).takeAll()).map((r) => r.i);
    expect(once).toEqual(again);
    expect(once).not.toEqual(items.map((r) => r.i));
    expect([...once].sort((x, y) => x - y)).toEqual(items.map((r) => r.i));
    const sorted = await ds.randomShuffle({ seed: 1 }).sort('v', { descending: true }).takeAll();
    expect(sorted.map((r) => r.v)).toEqual(items.map((r) => r.v).sort((x, y) => y - x));
    const byTwo = await ds.sort(['k', 'v']).takeAll();
    const expected = [...items].sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : x.v - y.v));
    expect(byTwo.map((r) => [r.k, r.v])).toEqual(expected.map((r) => [r.k, r.v]));
  });

  it('a numeric sort is stable and matches a single-process sort, negatives, -0 and NaN included', async () => {
    const nums = Array.from({ length: 600 }, (_, i) => ({
      v: i % 97 === 0 ? Number.NaN : i % 89 === 0 ? -0 : (((i * 7919) % 61) - 30) / 4,
      i,
    }));
    const ds = data.fromItems<(typeof nums)[number]>(nums, { overrideNumBlocks: 6 });
    for (const descending of [false, true]) {
      const got = (await ds.sort('v', { descending }).takeAll()).map((r) => r.i);
      // Array.prototype.sort is stable: ties keep their input order; NaN goes last either way.
      const expected = [...nums]
        .sort((a, b) =>
          Number.isNaN(a.v)
            ? Number.isNaN(b.v)
              ? 0
              : 1
            : Number.isNaN(b.v)
              ? -1
              : descending
                ? b.v - a.v
                : a.v - b.v,
        )
        .map((r) => r.i);
      expect(got).toEqual(expected);
    }
  });

  it('groupBy aggregations equal the same aggregation in plain JS', async () => {
    const ds = data.fromItems<(typeof items)[number]>(items, { overrideNumBlocks: 4 });
    const groups = new Map<string, number[]>();
    for (const r of items) groups.set(r.k, [...(groups.get(r.k) ?? []), r.v]);
    const keys = [...groups.keys()].sort();
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const std = (xs: number[]) =>
      Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
    expect(await ds.groupBy('k').count().takeAll()).toEqual(
      keys.map((k) => ({ k, 'count()': groups.get(k)!.length })),
    );
    const agg = await ds
      .groupBy('k')
      .aggregate(
        { fn: 'sum', on: 'v' },
        { fn: 'min', on: 'v' },
        { fn: 'max', on: 'v' },
        { fn: 'mean', on: 'v' },
        { fn: 'std', on: 'v' },
      )
      .takeAll();
    expect(agg.map((r) => r.k)).toEqual(keys);
    for (const row of agg) {
      const xs = groups.get(row.k as string)!;
      expect(row['sum(v)']).toBe(xs.reduce((s, x) => s + x, 0));
      expect(row['min(v)']).toBe(Math.min(...xs));
      expect(row['max(v)']).toBe(Math.max(...xs));
      expect(row['mean(v)']).toBeCloseTo(mean(xs), 9);
      expect(row['std(v)']).toBeCloseTo(std(xs), 9);
    }
    // A user-defined aggregation (init / accumulateRow / merge / finalize): the mean and the
    // distinct values of v, accumulated per map part and merged in the reducer.
    const meanAndDistinct = new data.AggregateFn<{ s: number; n: number; seen: number[] }, string>({
      name: 'mean_and_distinct(v)',
      init: () => ({ s: 0, n: 0, seen: [] }),
      accumulateRow: (acc, row) => ({
        s: acc.s + (row.v as number),
        n: acc.n + 1,
        seen: acc.seen.includes(row.v as number) ? acc.seen : [...acc.seen, row.v as number],
      }),
      merge: (a, b) => ({ s: a.s + b.s, n: a.n + b.n, seen: [...new Set([...a.seen, ...b.seen])] }),
      finalize: (acc) => `${(acc.s / acc.n).toFixed(6)}/${acc.seen.length}`,
    });
    const custom = await ds.groupBy('k').aggregate(meanAndDistinct, { fn: 'count' }).takeAll();
    expect(custom).toEqual(
      keys.map((k) => ({
        k,
        'mean_and_distinct(v)': `${mean(groups.get(k)!).toFixed(6)}/${new Set(groups.get(k)).size}`,
        'count()': groups.get(k)!.length,
      })),
    );
    expect(() => new data.AggregateFn({ name: 'x', init: () => 0 } as never)).toThrow(
      /AggregateFn\(x\): accumulateRow must be a function/,
    );
    const firsts = await ds
      .groupBy('k')
      .mapGroups((g) => ({ k: [g.k[0]], n: [g.v.length] }))
      .takeAll();
    expect(firsts).toEqual(keys.map((k) => ({ k, n: groups.get(k)!.length })));
  });

  it('repartition keeps the rows in order across the new block count', async () => {
    const ds = data.range(103, { overrideNumBlocks: 3 }).repartition(5);
    const blocks = await ds.materialize();
    expect(blocks.stats()).toMatch(/Repartition\(5\): 5 blocks/);
    expect((await blocks.takeAll()).map((r) => r.id)).toEqual([...Array(103).keys()]);
  });
});

describe('files', () => {
  it('a Parquet round trip gives back the same table and rewrites the same bytes', async () => {
    const table = tableFromArrays({
      i: Int32Array.from({ length: 300 }, (_, k) => k * 3),
      f: Float64Array.from({ length: 300 }, (_, k) => k / 7),
    });
    const out = path.join(dir, 'pq1');
    const files = await data.fromArrow(table).writeParquet(out);
    expect(files).toHaveLength(1);
    const back = data.readParquet(out);
    expect(await back.takeAll()).toEqual(Array.from({ length: 300 }, (_, k) => ({ i: k * 3, f: k / 7 })));
    const again = await back.writeParquet(path.join(dir, 'pq2'));
    expect(Buffer.compare(readFileSync(files[0]!), readFileSync(again[0]!))).toBe(0);
    expect(await data.readParquet(out, { columns: ['f'] }).take(2)).toEqual([{ f: 0 }, { f: 1 / 7 }]);
  });

  it('readParquet reads the row groups of one file in parallel tasks', async () => {
    const table = tableFromArrays({ x: Int32Array.from({ length: 1000 }, (_, k) => k) });
    const props = new pw.WriterPropertiesBuilder().setMaxRowGroupSize(100).build();
    const file = path.join(dir, 'groups.parquet');
    writeFileSync(file, pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, 'stream')), props));
    const ds = data.readParquet(file, { overrideNumBlocks: 10 });
    expect(await ds.count()).toBe(1000);
    expect((await ds.takeAll()).map((r) => r.x)).toEqual([...Array(1000).keys()]);
    expect(ds.stats()).toMatch(/ReadParquet: 10 blocks/);
  });

  it('reads CSV, JSON lines, JSON arrays, text and binary files, and writes CSV and JSON', async () => {
    const src = path.join(dir, 'src');
    rmSync(src, { recursive: true, force: true });
    const csv = path.join(src, 'csv');
    const json = path.join(src, 'json');
    for (const d of [csv, json]) (await import('node:fs')).mkdirSync(d, { recursive: true });
    writeFileSync(path.join(csv, 'a.csv'), 'name,n,ok\n"x, y",1,true\nz,2,false\n');
    writeFileSync(path.join(csv, 'b.csv'), 'name,n,ok\nw,3,true\n');
    writeFileSync(path.join(json, 'a.jsonl'), '{"a":1,"b":"p"}\n{"a":2,"b":"q"}\n');
    writeFileSync(path.join(json, 'b.json'), '[{"a":3,"b":"r"}]');
    const rows = await data.readCsv(csv).takeAll();
    expect(rows).toEqual([
      { name: 'x, y', n: 1, ok: true },
      { name: 'z', n: 2, ok: false },
      { name: 'w', n: 3, ok: true },
    ]);
    expect(await data.readJson(json).takeAll()).toEqual([
      { a: 1, b: 'p' },
      { a: 2, b: 'q' },
      { a: 3, b: 'r' },
    ]);
    expect(await data.readJson(path.join(json, '*.jsonl')).count()).toBe(2);
    expect(await data.readText(path.join(csv, 'b.csv')).takeAll()).toEqual([
      { text: 'name,n,ok' },
      { text: 'w,3,true' },
    ]);
    const bin = await data.readBinaryFiles(path.join(json, 'b.json'), { includePaths: true }).takeAll();
    expect(Buffer.from(bin[0]!.bytes).toString()).toBe('[{"a":3,"b":"r"}]');
    const csvOut = await data.readCsv(csv).writeCsv(path.join(dir, 'csv-out'));
    expect(await data.readCsv(csvOut).takeAll()).toEqual(rows);
    const jsonOut = await data.readCsv(csv).writeJson(path.join(dir, 'json-out'));
    expect(await data.readJson(jsonOut).takeAll()).toEqual(rows);
    expect(readdirSync(path.join(dir, 'json-out'))).toHaveLength(2);
  });
});

describe('custom sources and sinks', () => {
  it('a Datasource plans read tasks the workers run, and a Datasink gets one write per block', async () => {
    const source: data.Datasource = {
      name: 'ReadSquares',
      getReadTasks: (parallelism) =>
        Array.from({ length: Math.min(parallelism, 4) }, (_, piece) => ({
          read: (args: { piece: number }) =>
            [0, 1, 2].map((k) => ({ n: args.piece * 3 + k, sq: (args.piece * 3 + k) ** 2 })),
          args: { piece },
          source: `squares piece ${piece}`,
          numRows: 3,
        })),
    };
    const ds = data.readDatasource(source, { overrideNumBlocks: 4 });
    expect(await ds.count()).toBe(12);
    expect(await ds.takeAll()).toEqual(Array.from({ length: 12 }, (_, n) => ({ n, sq: n * n })));
    const out = path.join(dir, 'sink');
    let completed: unknown[] = [];
    const sink: data.Datasink = {
      name: 'CountLines',
      options: { dir: out },
      write: (block, ctx) => {
        const fs = require('node:fs');
        const o = ctx.options as { dir: string };
        fs.mkdirSync(o.dir, { recursive: true });
        fs.writeFileSync(require('node:path').join(o.dir, `block-${ctx.index}.txt`), String(block.numRows));
        return block.numRows;
      },
      onWriteComplete: (results) => {
        completed = results;
      },
    };
    expect(await ds.filter((r) => (r.n as number) % 2 === 0).write(sink)).toEqual([2, 1, 2, 1]);
    expect(completed).toEqual([2, 1, 2, 1]);
    expect(readdirSync(out).sort()).toEqual(['block-0.txt', 'block-1.txt', 'block-2.txt', 'block-3.txt']);
  });

  it('iterBatches with a local shuffle buffer yields every row once, shuffled, in batches of batchSize', async () => {
    const ids: number[] = [];
    const sizes: number[] = [];
    const ds = data.range(300, { overrideNumBlocks: 3 });
    for await (const batch of ds.iterBatches({
      batchSize: 64,
      localShuffleBufferSize: 128,
      localShuffleSeed: 5,
      batchFormat: 'rows',
    })) {
      const rows = batch as { id: number }[];
      sizes.push(rows.length);
      ids.push(...rows.map((r) => r.id));
    }
    expect(ids).not.toEqual([...Array(300).keys()]);
    expect([...ids].sort((a, b) => a - b)).toEqual([...Array(300).keys()]);
    expect(sizes.slice(0, -1).every((n) => n === 64)).toBe(true);
  });

  it('iterBatches with a local shuffle buffer and a seed gives the same batches each time, another seed others', async () => {
    const ds = data.range(1000, { overrideNumBlocks: 4 });
    const pass = async (seed: number) => {
      const batches: number[][] = [];
      for await (const batch of ds.iterBatches({
        batchSize: 100,
        localShuffleBufferSize: 300,
        localShuffleSeed: seed,
        batchFormat: 'columns',
      }))
        batches.push(Array.from((batch as { id: Int32Array }).id));
      return batches;
    };
    const first = await pass(11);
    expect(await pass(11)).toEqual(first);
    expect(await pass(12)).not.toEqual(first);
    expect(first.map((b) => b.length)).toEqual(Array(10).fill(100));
    expect(first.flat().sort((a, b) => a - b)).toEqual([...Array(1000).keys()]);
    // Rows mix across blocks: the first batch is not drawn from the first block (ids 0-249) alone.
    expect(first[0]!.some((id) => id >= 250)).toBe(true);
  });
});

describe('actor pools', () => {
  it('mapBatches with a class builds its state once per actor and uses every actor', async () => {
    const log = path.join(dir, 'constructed.log');
    class Model {
      weight: number;
      constructor(logFile: string, weight: number) {
        require('node:fs').appendFileSync(logFile, `${process.pid}\n`);
        this.weight = weight;
      }
      call(batch: { id: Int32Array }) {
        return {
          id: batch.id,
          y: Array.from(batch.id, (v) => v * this.weight),
          pid: Array.from(batch.id, () => process.pid),
        };
      }
    }
    const rows = await data
      .range(400, { overrideNumBlocks: 16 })
      .mapBatches(Model, { concurrency: 2, fnConstructorArgs: [log, 3], batchSize: 10 })
      .takeAll();
    expect(rows.map((r) => r.y)).toEqual([...Array(400).keys()].map((v) => v * 3));
    const constructed = readFileSync(log, 'utf8').trim().split('\n');
    expect(constructed).toHaveLength(2);
    expect(new Set(rows.map((r) => String(r.pid)))).toEqual(new Set(constructed));
  });

  it('an autoscaling pool [1, 3] grows past its minimum while blocks wait, and stays within its maximum', async () => {
    const log = path.join(dir, 'autoscale.log');
    class Slow {
      constructor(logFile: string) {
        require('node:fs').appendFileSync(logFile, `${process.pid}\n`);
      }
      call(batch: { id: Int32Array }) {
        const until = Date.now() + 100;
        while (Date.now() < until) {}
        return { id: batch.id };
      }
    }
    const rows = await data
      .range(120, { overrideNumBlocks: 12 })
      .mapBatches(Slow, { concurrency: [1, 3], fnConstructorArgs: [log], numCpus: 1 })
      .takeAll();
    expect(rows.map((r) => r.id)).toEqual([...Array(120).keys()]);
    const actors = readFileSync(log, 'utf8').trim().split('\n');
    expect(actors.length).toBeGreaterThan(1);
    expect(actors.length).toBeLessThanOrEqual(3);
  });
});

describe('bad input', () => {
  it('a throwing function fails the dataset naming the operator and showing the batch', async () => {
    const bad = data.range(20, { overrideNumBlocks: 2 }).map(function explode(r) {
      if (r.id === 13) throw new RangeError('id 13 is unlucky');
      return r;
    });
    const error = await bad.takeAll().then(
      () => undefined,
      (e) => e,
    );
    expect(error).toBeInstanceOf(data.UserCodeError);
    expect(error.message).toMatch(
      /Map\(explode\) failed: the user function threw RangeError: id 13 is unlucky/,
    );
    expect(error.message).toMatch(/on a batch of 10 rows starting with \[\{"id":10\}/);
  });

  it('maxErroredBlocks skips the blocks whose task failed', async () => {
    const ctx = data.DataContext.getCurrent();
    ctx.maxErroredBlocks = 1;
    try {
      const ds = data.range(20, { overrideNumBlocks: 2 }).map((r) => {
        if (r.id === 13) throw new Error('bad row');
        return r;
      });
      expect((await ds.takeAll()).map((r) => r.id)).toEqual([...Array(10).keys()]);
    } finally {
      ctx.maxErroredBlocks = 0;
    }
  });

  it('a malformed CSV line, a missing file and a missing column name the path', async () => {
    const file = path.join(dir, 'broken.csv');
    writeFileSync(file, 'a,b\n1,2\n3\n');
    await expect(data.readCsv(file).takeAll()).rejects.toThrow(new RegExp(`readCsv: ${file}: .*line 3`));
    const missing = path.join(dir, 'nope', 'x.parquet');
    await expect(data.readParquet(missing).takeAll()).rejects.toThrow(
      `readParquet: no such file or directory: ${missing}`,
    );
    const pq = path.join(dir, 'pq1');
    await expect(data.readParquet(pq, { columns: ['zzz'] }).takeAll()).rejects.toThrow(
      /column "zzz" is not in .*pq1.*its columns: i, f/,
    );
    await expect(data.range(3).selectColumns(['nope']).takeAll()).rejects.toThrow(
      /no column "nope" in the dataset; its columns are "id"/,
    );
    expect(() => data.range(3).mapBatches((b) => b, { batchFormat: 'pandas' as never })).toThrow(
      /batchFormat must be one of arrow, columns, rows/,
    );
    const leaked = 5;
    expect(() => data.range(3).map((r) => ({ x: r.id + leaked }))).toThrow(/`leaked`.*captures/);
  });
});

describe('bad schemas', () => {
  it('files whose columns or types disagree fail where their blocks are joined, naming both paths', async () => {
    const csvDir = path.join(dir, 'disagree-csv');
    mkdirSync(csvDir);
    writeFileSync(path.join(csvDir, 'a.csv'), 'a,b\n1,2\n3,4\n');
    writeFileSync(path.join(csvDir, 'b.csv'), 'a,c\n1,x\n3,y\n');
    const a = path.join(csvDir, 'a.csv');
    const b = path.join(csvDir, 'b.csv');
    const columns = new RegExp(
      `schema mismatch: ${a} \\(a: Int32, b: Int32\\) and ${b} \\(a: Int32, c: Utf8\\).*"b" only in the first; "c" only in the second`,
    );
    // A batch that spans both files (joined in the driver), and a sort whose reducers each get
    // rows of both (the keys overlap).
    await expect(
      (async () => {
        for await (const _ of data.readCsv(csvDir).iterBatches({ batchSize: 4 }));
      })(),
    ).rejects.toThrow(columns);
    await expect(data.readCsv(csvDir).sort('a').takeAll()).rejects.toThrow(columns);

    const jsonDir = path.join(dir, 'disagree-json');
    mkdirSync(jsonDir);
    writeFileSync(path.join(jsonDir, 'a.jsonl'), '{"k":1,"v":2}\n');
    writeFileSync(path.join(jsonDir, 'b.jsonl'), '{"k":"one","v":3}\n');
    await expect(data.readJson(jsonDir).repartition(1).takeAll()).rejects.toThrow(
      new RegExp(
        `${path.join(jsonDir, 'a.jsonl')} .* and ${path.join(jsonDir, 'b.jsonl')} .*column "k" is Float64 in the first and Utf8 in the second`,
      ),
    );

    // Whole numbers in one file and decimals in another are one numeric column.
    const numDir = path.join(dir, 'numeric-csv');
    mkdirSync(numDir);
    writeFileSync(path.join(numDir, 'a.csv'), 'x\n1\n2\n');
    writeFileSync(path.join(numDir, 'b.csv'), 'x\n0.5\n');
    expect((await data.readCsv(numDir).sort('x').takeAll()).map((r) => r.x)).toEqual([0.5, 1, 2]);
  });

  it('a file that is not Parquet, and missing CSV, JSON and text files, name the path', async () => {
    const fake = path.join(dir, 'fake.parquet');
    writeFileSync(fake, 'these bytes are not parquet');
    await expect(data.readParquet(fake).takeAll()).rejects.toThrow(
      `readParquet: ${fake} is not a readable Parquet file`,
    );
    for (const [read, name] of [
      [data.readCsv, 'readCsv'],
      [data.readJson, 'readJson'],
      [data.readText, 'readText'],
    ] as const) {
      const missing = path.join(dir, 'absent', `x.${name}`);
      await expect(read(missing).takeAll()).rejects.toThrow(`${name}: no such file or directory: ${missing}`);
    }
  });
});

// Keep the helpers of apache-arrow used (decode of IPC) honest: a block's IPC decodes alone.
it('blocks are Arrow IPC that apache-arrow decodes', async () => {
  const [first] = await (await data.range(5).materialize()).materializedBlocks();
  const bytes = await tray.get(first!.block);
  expect(tableFromIPC(bytes).numRows).toBe(5);
});
