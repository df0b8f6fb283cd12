// @tray/data across two nodes on one machine, built as a user builds them (`tray start --head`,
// then `tray start --address` with its own raylet and object store, one CPU each). A driver on
// the head runs a read -> map pipeline and a sort: the map tasks run on both nodes (Ray Data's
// SPREAD placement), the blocks made on node B are read by the driver on the head (so they move
// between the stores), and the sorted result equals a single-process sort. Every process both
// nodes started is gone when the test ends, even when it fails.
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
const data = await import('@tray/data');
await tray.init();
const head = tray.getRuntimeContext().nodeId;
// Each block's rows carry the node that mapped them; 32 KiB of payload per row makes the blocks
// large enough to live in the stores rather than inline.
const mapped = data.range(64 * 16, { overrideNumBlocks: 16 }).mapBatches((b) => {
  const node = tray.getRuntimeContext().nodeId;
  const until = Date.now() + 150;
  while (Date.now() < until) {}
  return { id: b.id, node: Array.from(b.id, () => node), payload: Array.from(b.id, () => new Uint8Array(32768)) };
});
const rows = [];
for await (const batch of mapped.iterBatches({ batchSize: null, batchFormat: 'rows' })) for (const r of batch) rows.push({ id: r.id, node: r.node });
const values = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1009);
const sorted = (await data.fromItems(values.map((v) => ({ v })), { overrideNumBlocks: 6 }).sort('v').takeAll()).map((r) => r.v);
console.log(JSON.stringify({
  head,
  nodes: [...new Set(rows.map((r) => r.node))],
  ids: rows.map((r) => r.id).join(',') === Array.from({ length: 1024 }, (_, i) => i).join(','),
  sorted: sorted.join(',') === [...values].sort((a, b) => a - b).join(','),
}));
await tray.shutdown();
`;

it('a pipeline on two nodes maps on both and its blocks reach the driver from either store', {
  timeout: 240_000,
}, async () => {
  const headDir = mkdtempSync(path.join(os.tmpdir(), 'tray-data-head-'));
  const nodeDir = mkdtempSync(path.join(os.tmpdir(), 'tray-data-b-'));
  dirs.push(headDir, nodeDir);
  const store = ['--object-store-memory', '200000000'];
  const head = await run([BIN, 'start', '--head', '--port', '0', '--num-cpus', '1', ...store], {
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
    ['--input-type=module', '-e', DRIVER],
    { TMPDIR: headDir, TRAY_ADDRESS: record.gcsAddress },
    180_000,
  );
  expect(driver.code, driver.stderr + driver.stdout).toBe(0);
  const result = JSON.parse(driver.stdout.trim().split('\n').pop()!);
  expect(result.head).toBe(record.nodeId);
  expect(new Set(result.nodes)).toEqual(new Set([record.nodeId, nodeB]));
  expect(result.ids).toBe(true);
  expect(result.sorted).toBe(true);
});
