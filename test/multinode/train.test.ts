// @tray/train across two nodes on one machine, built as a user builds them (`tray start --head`
// with 2 CPUs, then `tray start --address` with 1): a driver on the head trains on 3 workers of
// { CPU: 1 } (PACK: two on the head, one on node B). The ranks follow the nodes (world ranks
// of a node contiguous, localRank and localWorldSize per node, nodeRank per node), an allReduce
// crosses the nodes, and the three workers' checkpoint files are merged into one directory of
// the storage both nodes see. Every process both nodes started is gone when the test ends.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageBin } from '@tray/test-support';
import { afterEach, expect, it } from 'vitest';
import { stopProcessesUnder } from '../tmpdir-processes.js';

const BIN = packageBin('@tray/cli', import.meta.url, 'tray');
const dirs: string[] = [];

afterEach(() => stopProcessesUnder(dirs));

function run(
  args: string[],
  env: Record<string, string>,
  timeout = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { TRAY_ADDRESS: _a, TRAY_TOKEN: _t, ...base } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { env: { ...base, ...env }, cwd: import.meta.dirname, timeout },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const DRIVER = `
const tray = await import('@tray/core');
const train = await import('@tray/train');
await tray.init();
const result = await new train.DataParallelTrainer(async () => {
  const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
  const ctx = train.getContext();
  const sum = await train.allReduce(new Float64Array([ctx.worldRank]), { op: 'sum' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
  fs.writeFileSync(path.join(dir, 'rank-' + ctx.worldRank + '.json'),
    JSON.stringify({ ...ctx, nodeId: tray.getRuntimeContext().nodeId, sum: sum[0] }));
  await train.report({ sum: sum[0] }, { checkpoint: train.Checkpoint.fromDirectory(dir) });
}, {
  scalingConfig: { numWorkers: 3, resourcesPerWorker: { CPU: 1 } },
  runConfig: { name: 'two-nodes', storagePath: process.env.STORAGE, verbose: false },
}).fit();
if (result.error) throw result.error;
const files = fs.readdirSync(result.checkpoint.path).sort();
console.log(JSON.stringify({
  files,
  contexts: files.map((f) => JSON.parse(fs.readFileSync(path.join(result.checkpoint.path, f), 'utf8'))),
  metrics: result.metrics,
}));
await tray.shutdown();
`;

it('ranks three workers on two nodes by node, allReduces across them and merges their checkpoints', {
  timeout: 240_000,
}, async () => {
  const headDir = mkdtempSync(path.join(os.tmpdir(), 'tray-train-head-'));
  const nodeDir = mkdtempSync(path.join(os.tmpdir(), 'tray-train-b-'));
  const storage = mkdtempSync(path.join(os.tmpdir(), 'tray-train-storage-'));
  dirs.push(headDir, nodeDir, storage);
  const store = ['--object-store-memory', '100000000'];
  const head = await run([BIN, 'start', '--head', '--port', '0', '--num-cpus', '2', ...store], {
    TMPDIR: headDir,
  });
  expect(head.code, head.stderr).toBe(0);
  const record = JSON.parse(readFileSync(path.join(headDir, 'tray', 'current_cluster.json'), 'utf8'));
  const token = readFileSync(record.tokenFile, 'utf8').trim();
  const second = await run([BIN, 'start', '--address', record.gcsAddress, '--num-cpus', '1', ...store], {
    TMPDIR: nodeDir,
    TRAY_TOKEN: token,
  });
  expect(second.code, second.stderr).toBe(0);
  const nodeB = JSON.parse(readFileSync(path.join(nodeDir, 'tray', 'current_cluster.json'), 'utf8')).nodeId;

  const driver = await run(
    ['--input-type=module', '-e', `import fs from 'node:fs'; import path from 'node:path';\n${DRIVER}`],
    { TMPDIR: headDir, TRAY_ADDRESS: record.gcsAddress, STORAGE: storage },
    180_000,
  );
  expect(driver.code, driver.stderr + driver.stdout).toBe(0);
  const out = JSON.parse(driver.stdout.trim().split('\n').pop()!);
  expect(out.files).toEqual(['rank-0.json', 'rank-1.json', 'rank-2.json']);
  expect(out.metrics.sum).toBe(3);
  const c = out.contexts as {
    worldRank: number;
    worldSize: number;
    localRank: number;
    localWorldSize: number;
    nodeRank: number;
    nodeId: string;
    sum: number;
  }[];
  expect(c.every((x) => x.worldSize === 3 && x.sum === 3)).toBe(true);
  expect(new Set(c.map((x) => x.nodeId))).toEqual(new Set([record.nodeId, nodeB]));
  // the node with two workers has world ranks 0, 1; the other has 2 (contiguous per node)
  const byNode = (rank: number) => c.filter((x) => x.nodeRank === rank);
  const first = byNode(0);
  const second2 = byNode(1);
  expect(first.map((x) => [x.worldRank, x.localRank, x.localWorldSize])).toEqual([
    [0, 0, 2],
    [1, 1, 2],
  ]);
  expect(second2.map((x) => [x.worldRank, x.localRank, x.localWorldSize])).toEqual([[2, 0, 1]]);
  expect(new Set(first.map((x) => x.nodeId)).size).toBe(1);
  expect(second2[0]!.nodeId).not.toBe(first[0]!.nodeId);
});
