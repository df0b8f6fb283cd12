#!/usr/bin/env node
// The state API's list of 10,000 tasks (issue 12, target < 1 s): a real GCS (in this process,
// on loopback) is sent the task events of 10,000 tasks of one job the way core workers send
// them (TaskEventRows over AddTaskEventData: per task a row with the owner's four changes and
// one with the executor's two), then the dashboard's HTTP server (also here, on loopback) is asked
// GET /api/v0/tasks?limit=10000 and the time to the parsed reply is measured, `--rounds` times.
//   node tools/bench/state-list.mjs [--rounds 5] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { startGcsServer, GcsClient } = await import(path.join(root, 'packages/gcs/dist/index.js'));
const { TaskEventRow: R } = await import(path.join(root, 'packages/protocol/dist/index.js'));
const { startDashboard } = await import(path.join(root, 'packages/dashboard/dist/index.js'));
const args = process.argv.slice(2);
const at = args.indexOf('--rounds');
const rounds = at >= 0 && Number(args[at + 1]) > 0 ? Number(args[at + 1]) : 5;
const json = args.includes('--json');
const TASKS = 10_000;

const token = 'b'.repeat(64);
const sessionDir = mkdtempSync(path.join(os.tmpdir(), 'tray-bench-state-'));
const gcs = await startGcsServer({ token, port: 0, log: () => {} });
const client = new GcsClient(gcs.address, { token });
const dashboard = await startDashboard({
  gcsAddress: gcs.address,
  token,
  sessionDir,
  port: 0,
  joinCluster: false,
});
try {
  const jobId = Buffer.from([0, 0, 0, 1]);
  const node = Buffer.alloc(28, 7);
  const owner = {
    jobId,
    name: 'f',
    funcOrClassName: 'f',
    type: 'NORMAL_TASK',
    requiredResources: { CPU: 1 },
  };
  const executor = { jobId, workerId: Buffer.alloc(28, 9), nodeId: node, workerPid: 4242 };
  // One row per side per task (TaskEventRow's layout): the owner's three changes and its end,
  // the executor's two.
  const attemptRows = new Uint8Array(TASKS * 2 * R.bytes);
  const ints = new Int32Array(attemptRows.buffer);
  const times = new Float64Array(attemptRows.buffer);
  const now = Date.now();
  for (let t = 0; t < TASKS; t++) {
    for (const [side, states] of [
      [0, [0, 1, 2, 4]],
      [1, [3, 4]],
    ]) {
      const r = t * 2 + side;
      new DataView(attemptRows.buffer).setUint32(r * R.bytes + 20, t);
      ints[r * R.int32s + R.info] = side;
      ints[r * R.int32s + R.node] = side === 0 ? 1 : 0;
      for (const state of states) times[r * R.float64s + R.times + state] = now + t + state;
    }
  }
  await client.addTaskEventRows({ attemptRows, infos: [owner, executor], nodeIds: [node] });
  const elapsed = [];
  let listed = 0;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const res = await fetch(`${dashboard.url}/api/v0/tasks?limit=${TASKS}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = await res.json();
    elapsed.push(performance.now() - t0);
    listed = body.data.result.result.length;
  }
  elapsed.sort((a, b) => a - b);
  const result = {
    tasks_listed: listed,
    median_ms: Math.round(elapsed[Math.floor(elapsed.length / 2)]),
    max_ms: Math.round(elapsed.at(-1)),
  };
  if (json) process.stdout.write(`${JSON.stringify({ state_list: result })}\n`);
  else
    console.log(
      `GET /api/v0/tasks?limit=${TASKS}: ${listed} tasks, median ${result.median_ms} ms, max ${result.max_ms} ms`,
    );
} finally {
  await dashboard.close();
  client.close();
  await gcs.close();
  rmSync(sessionDir, { recursive: true, force: true });
}
