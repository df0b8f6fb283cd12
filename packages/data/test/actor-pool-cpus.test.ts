// An actor pool as large as the cluster's CPUs, on a real 2-CPU local cluster. Before, its
// actors took both CPUs at the start and the read and map tasks that make its input never got
// one: the dataset hung. Now a task map right above the pool runs in its actors (Ray's fusion of
// a task map into a downstream actor pool), a pool fed by tasks leaves them a CPU until its
// input is done, and a pool whose one actor would hold every CPU its input needs says so.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { afterAll, beforeAll, expect, it } from 'vitest';

let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tray-data-pool-cpus-'));
  await tray.init({ numCpus: 2, objectStoreMemory: 128 * 1024 * 1024 });
});

afterAll(async () => {
  await tray.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

class Tagger {
  constructor(logFile: string) {
    require('node:fs').appendFileSync(logFile, `${process.pid}\n`);
  }
  call(batch: { id: Int32Array; mappedBy?: number[] }) {
    const until = Date.now() + 20;
    while (Date.now() < until) {}
    return {
      ...batch,
      id: Array.from(batch.id, (v) => v * 2),
      actor: Array.from(batch.id, () => process.pid),
    };
  }
}

it('a task map into a pool of 2 actors on 2 CPUs runs in the actors, and completes', {
  timeout: 120_000,
}, async () => {
  const log = path.join(dir, 'fused.log');
  const ds = data
    .range(400, { overrideNumBlocks: 20 })
    .map((r: { id: number }) => ({ id: r.id + 1, mappedBy: process.pid }))
    .mapBatches(Tagger, { concurrency: 2, fnConstructorArgs: [log], batchFormat: 'columns' });
  const rows = (await ds.takeAll()) as { id: number; mappedBy: number; actor: number }[];
  expect(rows.map((r) => r.id)).toEqual([...Array(400).keys()].map((v) => (v + 1) * 2));
  // The map ran in the actor that then called the class on its rows: one process per row.
  expect(rows.filter((r) => r.mappedBy !== r.actor)).toEqual([]);
  const actors = new Set(readFileSync(log, 'utf8').trim().split('\n'));
  expect(new Set(rows.map((r) => String(r.actor)))).toEqual(actors);
  expect(actors.size).toBeLessThanOrEqual(2);
  expect(ds.stats()).toMatch(/Map\(.*\)->MapBatches\(Tagger\)/);
});

it('a pool of 2 actors on 2 CPUs fed by read tasks leaves them a CPU, and completes', {
  timeout: 120_000,
}, async () => {
  const log = path.join(dir, 'read.log');
  const rows = (await data
    .range(400, { overrideNumBlocks: 20 })
    .mapBatches(Tagger, { concurrency: 2, fnConstructorArgs: [log], batchFormat: 'columns' })
    .takeAll()) as { id: number; actor: number }[];
  expect(rows.map((r) => r.id)).toEqual([...Array(400).keys()].map((v) => v * 2));
  const actors = new Set(readFileSync(log, 'utf8').trim().split('\n'));
  expect(new Set(rows.map((r) => String(r.actor)))).toEqual(actors);
  expect(actors.size).toBeLessThanOrEqual(2);
});

it('a pool whose one actor needs every CPU its read tasks need fails saying so', async () => {
  const log = path.join(dir, 'big.log');
  const error = await data
    .range(40, { overrideNumBlocks: 4 })
    .mapBatches(Tagger, { concurrency: 1, numCpus: 2, fnConstructorArgs: [log] })
    .takeAll()
    .then(
      () => undefined,
      (e: Error) => e,
    );
  expect(error?.message).toMatch(
    /MapBatches\(Tagger\): each actor of the pool needs 2 CPU\(s\) and the tasks that make its input 1, but the cluster has 2.*fewer CPUs \(numCpus\)/,
  );
});
