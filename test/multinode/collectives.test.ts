// @tray/train's collectives across two nodes on one machine, built as a user builds them (`tray
// start --head`, then `tray start --address` with its own raylet and store). A driver on the head
// places one group member on each node (hard node affinity); they find each other through the
// rendezvous actor, connect on their nodes' addresses, and allReduce, broadcast and allGather
// give the hand-computed results on both; so does a mixed group (two members on the head, one on
// the other node), which like the first uses TCP, not shared memory. Every process both nodes started is gone when the test
// ends, even when it fails.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageBin } from '@tray/test-support';
import { afterEach, expect, it } from 'vitest';
import { stopProcessesUnder } from '../tmpdir-processes.js';

const BIN = packageBin('@tray/cli', import.meta.url, 'tray');
const MEMBER = pathToFileURL(
  path.resolve(import.meta.dirname, '../../packages/train/test/fixtures/member.mjs'),
).href;
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
const { Member, input } = await import(${JSON.stringify(MEMBER)});
await tray.init();
const M = tray.remote(Member, { module: ${JSON.stringify(MEMBER)}, exportName: 'Member' });
const nodes = (await tray.nodes()).filter((n) => n.alive).map((n) => n.nodeId);
const members = nodes.map((nodeId) => M.options({ numCpus: 0, schedulingStrategy: { nodeId, soft: false } }).remote());
const placed = await tray.get(members.map((m) => m.node.remote()));
const inits = await tray.get(members.map((m, rank) => m.init.remote({ name: 'two-nodes', worldSize: 2, rank })));
const length = 100003;
const sums = await tray.get(members.map((m) => m.run.remote('allReduce', length, 'f64', { op: 'sum' })));
const casts = await tray.get(members.map((m) => m.run.remote('broadcast', 7, 'f32', { srcRank: 1 })));
const gathers = await tray.get(members.map((m) => m.run.remote('allGather', 3, 'f64')));
const shared = await tray.get(members.map((m) => m.sharedMemory.remote()));
// A mixed group: two members on the head node, one on the other.
const mixed = [nodes[0], nodes[0], nodes[1]].map((nodeId) => M.options({ numCpus: 0, schedulingStrategy: { nodeId, soft: false } }).remote());
const mixedInits = await tray.get(mixed.map((m, rank) => m.init.remote({ name: 'mixed', worldSize: 3, rank })));
const mixedShared = await tray.get(mixed.map((m) => m.sharedMemory.remote()));
const mixedSums = await tray.get(mixed.map((m) => m.run.remote('allReduce', length, 'f64', { op: 'sum' })));
const mixedCasts = await tray.get(mixed.map((m) => m.run.remote('broadcast', length, 'f32', { srcRank: 2 })));
const cross = await tray.get([...members, ...mixed].map((m) => m.crossMemory.remote()));
// sharedArray on a group across nodes: plain arrays, over TCP.
const sharedSuites = await tray.get(mixed.map((m) => m.sharedSuite.remote(length, 'f64')));
const a = input(0, length, 'f64'), b = input(1, length, 'f64'), c = input(2, length, 'f64');
const same = (x, y) => x.length === y.length && x.every((v, i) => v === y[i]);
console.log(JSON.stringify({
  nodes, placed, inits,
  sum: sums.map((s) => s.error?.message ?? same(Array.from(s.value), Array.from(a, (v, i) => v + b[i]))),
  broadcast: casts.map((c) => c.error?.message ?? same(Array.from(c.value), Array.from(input(1, 7, 'f32')))),
  shared, mixedInits, mixedShared, cross,
  sharedSum: sharedSuites.map((s) => s.error?.message ?? (same(Array.from(s.value.allReduce.sum), Array.from(a, (v, i) => v + b[i] + c[i])) && same(Array.from(s.value.inplace.max), Array.from(a, (v, i) => Math.max(v, b[i], c[i]))))),
  mixedSum: mixedSums.map((s) => s.error?.message ?? same(Array.from(s.value), Array.from(a, (v, i) => v + b[i] + c[i]))),
  mixedBroadcast: mixedCasts.map((s) => s.error?.message ?? same(Array.from(s.value), Array.from(input(2, length, 'f32')))),
  gather: gathers.map((g) => g.error?.message ?? (same(Array.from(g.value[0]), Array.from(input(0, 3, 'f64'))) && same(Array.from(g.value[1]), Array.from(input(1, 3, 'f64'))))),
}));
await tray.shutdown();
`;

it('a group with a member on each of two nodes, and a mixed group, connect and reduce over TCP', {
  timeout: 240_000,
}, async () => {
  const headDir = mkdtempSync(path.join(os.tmpdir(), 'tray-coll-head-'));
  const nodeDir = mkdtempSync(path.join(os.tmpdir(), 'tray-coll-b-'));
  dirs.push(headDir, nodeDir);
  const head = await run([BIN, 'start', '--head', '--port', '0', '--num-cpus', '1'], { TMPDIR: headDir });
  expect(head.code, head.stderr).toBe(0);
  const record = JSON.parse(readFileSync(path.join(headDir, 'tray', 'current_cluster.json'), 'utf8'));
  const token = readFileSync(record.tokenFile, 'utf8').trim();
  const second = await run([BIN, 'start', '--address', record.gcsAddress, '--num-cpus', '1'], {
    TMPDIR: nodeDir,
    TRAY_TOKEN: token,
  });
  expect(second.code, second.stderr).toBe(0);

  const driver = await run(
    ['--input-type=module', '-e', DRIVER],
    { TMPDIR: headDir, TRAY_ADDRESS: record.gcsAddress },
    180_000,
  );
  expect(driver.code, driver.stderr + driver.stdout).toBe(0);
  const result = JSON.parse(driver.stdout.trim().split('\n').pop()!);
  expect(result.nodes).toHaveLength(2);
  expect(result.placed).toEqual(result.nodes);
  expect(result.inits).toEqual([{ ok: true }, { ok: true }]);
  expect(result.sum).toEqual([true, true]);
  expect(result.broadcast).toEqual([true, true]);
  expect(result.gather).toEqual([true, true]);
  // Members on different nodes talk over TCP; a group with any member elsewhere does too.
  expect(result.shared).toEqual([false, false]);
  expect(result.mixedInits).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
  expect(result.mixedShared).toEqual([false, false, false]);
  expect(result.mixedSum).toEqual([true, true, true]);
  expect(result.mixedBroadcast).toEqual([true, true, true]);
  // Nor does cross-memory attach (the mixed group's two members on one node included).
  expect(result.cross).toEqual([null, null, null, null, null]);
  expect(result.sharedSum).toEqual([true, true, true]);
});
