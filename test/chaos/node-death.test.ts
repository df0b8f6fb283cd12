// Chaos scenario 2: a worker node dies mid-run. Two nodes on one machine, built as a user builds
// them (`tray start --head`, then `tray start --address` with its own raylet and store). A driver
// on the head runs retriable tasks (SPREAD and default strategy, maxRetries: 3), an actor placed
// on node B (soft node affinity, maxRestarts: -1) receiving numbered calls, and a SPREAD placement
// group with a bundle on B. Mid-run the test SIGKILLs B's raylet and every worker it started. What
// must hold: every task returns its value, every actor call is answered and the actor answers
// again from the head, the GCS reports B dead (tray.nodes()), the group's bundle that was on B is
// placed again on the head, and no process of either node is left once the head is stopped.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childPids, processesWithEnv, removeStoreSegments, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { tray } from './tray-cli.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

const dirs: string[] = [];
const drivers: ChildProcess[] = [];
const raylets: number[] = [];

afterEach(async () => {
  for (const d of drivers.splice(0)) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
  for (const dir of dirs) for (const pid of processesOf(dir)) kill(pid);
  await waitFor(() => dirs.every((dir) => processesOf(dir).length === 0), {
    what: "the nodes' processes to exit",
    timeoutMs: 10_000,
    intervalMs: 100,
  });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  // A SIGKILLed raylet cannot remove its store's shared-memory segment: remove it for it.
  removeStoreSegments(raylets.splice(0));
});

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Every live process started under this TMPDIR (`tray start` passes its environment down). */
const processesOf = (tmpdir: string) => processesWithEnv('TMPDIR', tmpdir);

const trayCli = (args: string[], tmpdir: string, extraEnv: Record<string, string> = {}) =>
  tray(args, tmpdir, 120_000, extraEnv);

interface NodeRecord {
  gcsAddress: string;
  tokenFile: string;
  nodeId: string;
  pids: { supervisor: number; raylet: number; gcs?: number };
}

async function startNode(args: string[], extraEnv: Record<string, string> = {}) {
  const tmpdir = mkdtempSync(path.join(os.tmpdir(), 'tray-chaos-node-'));
  dirs.push(tmpdir);
  const run = await trayCli(['start', ...args], tmpdir, extraEnv);
  if (run.code !== 0) throw new Error(`tray start ${args.join(' ')} failed: ${run.stderr}${run.stdout}`);
  const record: NodeRecord = JSON.parse(
    readFileSync(path.join(tmpdir, 'tray', 'current_cluster.json'), 'utf8'),
  );
  raylets.push(record.pids.raylet);
  return { tmpdir, record };
}

const TASKS_PER_STRATEGY = 120;
const ACTOR_CALLS = 60;

// Prints KILL once node B has done some of the work, waits for the test's "killed" on stdin,
// then checks everything a user would, and prints one RESULT line.
const DRIVER = `
const tray = await import('@tray/core');
await tray.init();
const head = tray.getRuntimeContext().nodeId;
const nodeB = process.env.NODE_B;
const node = () => tray.getRuntimeContext().nodeId;
const killed = new Promise((resolve) => process.stdin.once('data', () => { process.stdin.destroy(); resolve(); }));

const pg = tray.placementGroup([{ CPU: 1 }, { CPU: 1 }], { strategy: 'SPREAD' });
await pg.ready();
const inBundle = (i) => tray.remote(node).options({ schedulingStrategy: { placementGroup: pg, bundleIndex: i } });
const bundleNodes = await tray.get([inBundle(0).remote(), inBundle(1).remote()]);

class Counter {
  constructor() { this.calls = 0; }
  call(n) { this.calls++; return { n, node: tray.getRuntimeContext().nodeId }; }
}
const actor = tray.remote(Counter)
  .options({ maxRestarts: -1, maxTaskRetries: -1, schedulingStrategy: { nodeId: nodeB, soft: true } })
  .remote();
const actorFirst = (await tray.get(actor.call.remote(-1))).node;

const work = tray.remote(async (i) => {
  await new Promise((r) => setTimeout(r, 150));
  return { value: i * 3 + 1, node: tray.getRuntimeContext().nodeId };
});
let onB = 0;
let signalled = false;
const track = (ref) => tray.get(ref).then((r) => {
  if (r.node === nodeB && ++onB >= 8 && !signalled) { signalled = true; console.log('KILL'); }
  return r;
});
const n = ${TASKS_PER_STRATEGY};
const spread = Array.from({ length: n }, (_, i) => track(work.options({ maxRetries: 3, schedulingStrategy: 'SPREAD' }).remote(i)));
const plain = Array.from({ length: n }, (_, i) => track(work.options({ maxRetries: 3 }).remote(n + i)));
const calls = [];
for (let i = 0; i < ${ACTOR_CALLS} / 2; i++) calls.push(tray.get(actor.call.remote(i)));
await killed;
// Submitted after the kill, before or after the cluster knows: they must not fail either.
const late = Array.from({ length: 20 }, (_, i) => work.options({ maxRetries: 3, schedulingStrategy: i % 2 ? 'SPREAD' : 'DEFAULT' }).remote(2 * n + i));
for (let i = ${ACTOR_CALLS} / 2; i < ${ACTOR_CALLS}; i++) calls.push(tray.get(actor.call.remote(i)));
const results = await Promise.all([...spread, ...plain, ...late.map((r) => tray.get(r))]);
const answers = await Promise.all(calls);
const actorAfter = (await tray.get(actor.call.remote(-2))).node;

let bAlive = true;
for (const end = Date.now() + 60000; bAlive && Date.now() < end; ) {
  bAlive = (await tray.nodes()).some((x) => x.nodeId === nodeB && x.alive);
  if (bAlive) await new Promise((r) => setTimeout(r, 200));
}
const replaced = await pg.wait(60000);
const bundleNodesAfter = await tray.get([inBundle(0).remote(), inBundle(1).remote()]);
const wrong = results.filter((r, i) => r.value !== i * 3 + 1).length;
console.log('RESULT ' + JSON.stringify({
  head, bundleNodes, bundleNodesAfter, replaced, actorFirst, actorAfter, bAlive, wrong,
  count: results.length, ranOnB: results.filter((r) => r.node === nodeB).length,
  answered: answers.map((a) => a.n).sort((x, y) => x - y),
}));
await tray.shutdown();
`;

describe('chaos: a worker node dies mid-run', () => {
  // 'raylet': its supervisor sees it die and tells the GCS at once. 'whole node': the supervisor
  // dies first, so only the GCS's health checks find out (~15 s), and until then this node's
  // raylet keeps sending leases to B: the owners must keep asking until they land on the head.
  it.each([
    ['raylet', false],
    ['whole node', true],
  ])(
    '%s killed: its tasks are retried elsewhere, its actor restarts on the head, its bundle is re-placed, nothing is left',
    {
      timeout: 300_000,
    },
    async (_what, wholeNode) => {
      const started = Date.now();
      const headNode = await startNode([
        '--head',
        '--port',
        '0',
        '--num-cpus',
        '3',
        '--object-store-memory',
        '100000000',
      ]);
      const token = readFileSync(headNode.record.tokenFile, 'utf8').trim();
      const nodeB = await startNode(
        ['--address', headNode.record.gcsAddress, '--num-cpus', '3', '--object-store-memory', '100000000'],
        { TRAY_TOKEN: token },
      );

      const { TRAY_ADDRESS: _a, TRAY_TOKEN: _t, ...env } = process.env;
      const driver = spawn(process.execPath, ['--input-type=module', '-e', DRIVER], {
        cwd: path.join(ROOT, 'test'),
        env: {
          ...env,
          TMPDIR: headNode.tmpdir,
          TRAY_ADDRESS: headNode.record.gcsAddress,
          NODE_B: nodeB.record.nodeId,
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      drivers.push(driver);
      let stdout = '';
      let stderr = '';
      driver.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => driver.once('exit', (code) => resolve(code)));

      // SIGKILL B's raylet and every worker it started, at once, when B has done some of the work.
      let killedPids: number[] = [];
      await new Promise<void>((resolve, reject) => {
        driver.stdout.on('data', (d) => {
          stdout += d;
          if (killedPids.length === 0 && stdout.includes('KILL\n')) {
            const raylet = nodeB.record.pids.raylet;
            killedPids = [...(wholeNode ? [nodeB.record.pids.supervisor] : []), raylet, ...childPids(raylet)];
            for (const pid of killedPids) kill(pid);
            driver.stdin.end('killed\n');
            resolve();
          }
        });
        void exited.then(() => reject(new Error(`the driver exited before the kill:\n${stdout}\n${stderr}`)));
      });
      const code = await exited;
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      expect(line, `driver exited ${code}\nstdout: ${stdout}\nstderr: ${stderr}`).toBeDefined();
      const result = JSON.parse(line!.slice('RESULT '.length));
      const head = headNode.record.nodeId;
      const b = nodeB.record.nodeId;

      expect(code).toBe(0);
      expect(killedPids.length).toBeGreaterThan(wholeNode ? 2 : 1); // the raylet and at least one worker
      expect(result.count).toBe(2 * TASKS_PER_STRATEGY + 20);
      expect(result.wrong).toBe(0);
      expect(result.ranOnB).toBeGreaterThan(0);
      expect(result.answered).toEqual(Array.from({ length: ACTOR_CALLS }, (_, i) => i));
      expect(result.actorFirst).toBe(b);
      expect(result.actorAfter).toBe(head);
      expect(result.bAlive).toBe(false);
      expect([...result.bundleNodes].sort()).toEqual([head, b].sort());
      expect(result.replaced).toBe(true);
      expect(result.bundleNodesAfter).toEqual([head, head]);
      expect(stderr).not.toMatch(/cannot lease a worker/);

      // Node B's supervisor (if it lived) saw its raylet die, told the GCS and exited; nothing of B is left.
      await waitFor(() => processesOf(nodeB.tmpdir).length === 0, {
        what: 'node B to leave no process',
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      const stop = await trayCli(['stop'], headNode.tmpdir);
      expect(stop.code, stop.stdout + stop.stderr).toBe(0);
      await waitFor(() => processesOf(headNode.tmpdir).length === 0, {
        what: 'the head to leave no process',
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      console.log(
        `node death chaos (${_what}): ${Date.now() - started} ms; killed ${killedPids.length} processes of node B ` +
          `(${wholeNode ? 'supervisor, ' : ''}raylet, workers); ` +
          `${result.ranOnB} of ${result.count} tasks ran on B`,
      );
    },
  );
});
