// Two nodes on one machine, built the way a user builds a cluster: `tray start --head`, then
// `tray start --address` for a second node with its own object store and a resource only it
// has. A driver on the head runs tasks and an actor that need that resource: they are leased on
// the second node (spillback), their large arguments and results cross between the two stores,
// and the driver talks to the remote workers over TCP. When node B is killed, a result left in
// its store is made again on another node when its task may rerun (lineage reconstruction), and
// is ObjectLostError when it may not. A borrowed object whose primary copy is in node B's store is
// freed there (and its copy on the head) once its last borrower drops it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, driver, TestCluster, tray } from './cli-process.js';

const cluster = new TestCluster();
afterEach(() => cluster.cleanUp());

interface Record {
  gcsAddress: string;
  tokenFile: string;
  nodeId: string;
  pids: { [name: string]: number };
}

function record(tmp: string): Record {
  return JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));
}

const DRIVER = `
const tray = await import('@tray/core');
await tray.init();
const here = tray.getRuntimeContext().nodeId;
const onB = { resources: { nodeB: 1 } };
const where = tray.remote(() => tray.getRuntimeContext().nodeId).options(onB);
const taskNode = await tray.get(where.remote());

// 4 MiB put on the head, summed on node B; 3 MiB made on node B, read on the head.
const big = new Uint8Array(4 << 20).map((_, i) => i % 251);
const expected = big.reduce((s, x) => s + x, 0);
const ref = await tray.put(big);
const sum = tray.remote((a) => a.reduce((s, x) => s + x, 0)).options(onB);
const make = tray.remote((n) => new Uint8Array(n).map((_, i) => (i * 7) % 256)).options(onB);
const [summed, made] = await tray.get([sum.remote(ref), make.remote(3 << 20)]);
let madeRight = made.length === 3 << 20;
for (let i = 0; i < made.length && madeRight; i += 4099) madeRight = made[i] === (i * 7) % 256;

class Where {
  constructor() { this.calls = 0; }
  node() { this.calls++; return tray.getRuntimeContext().nodeId; }
}
const actor = tray.remote(Where).options(onB).remote();
const actorNode = await tray.get(actor.node.remote());
const nodes = (await tray.nodes()).filter((n) => n.alive).length;

// A result that stays in node B's store is lost with node B; its task may not run again
// (maxRetries: 0, so no lineage reconstruction): get says it is lost.
const lost = make.options({ maxRetries: 0 }).remote(1 << 20);
await tray.wait([lost]);
for (const pid of process.env.NODE_B_PIDS.split(',')) process.kill(Number(pid), 'SIGKILL');
let lostError;
try {
  await tray.get(lost, { timeoutMs: 60000 });
} catch (err) {
  lostError = { name: err.name, isObjectLost: err instanceof tray.ObjectLostError, message: err.message };
}
// A task that only node B could run waits (the cluster has not declared B dead yet, so it is
// still sent there and cannot reach it): it is not failed for that.
const orphan = where.remote();
const afterDeath = await tray.wait([orphan], { timeoutMs: 2000 });
const orphanPending = afterDeath.ready.length === 0;
await tray.cancel(orphan);
console.log(JSON.stringify({ here, taskNode, summed, expected, madeRight, actorNode, nodes, lostError, orphanPending }));
await tray.shutdown();
`;

describe('a cluster of two nodes on one machine', () => {
  it('runs tasks and an actor on the node that has what they need, moving objects between the stores', {
    timeout: 180_000,
  }, async () => {
    const headDir = cluster.tempDir();
    const head = await tray(
      ['start', '--head', '--port', '0', '--num-cpus', '1', '--object-store-memory', '200000000'],
      headDir,
    );
    expect(head.stderr).toBe('');
    expect(head.code).toBe(0);
    const headRecord = record(headDir);
    cluster.started.push(...Object.values(headRecord.pids));
    const token = readFileSync(headRecord.tokenFile, 'utf8').trim();

    const nodeDir = cluster.tempDir();
    const second = await tray(
      [
        'start',
        '--address',
        headRecord.gcsAddress,
        '--num-cpus',
        '1',
        '--resources',
        // Two: the actor holds one for its life, tasks take the other.
        '{"nodeB": 2}',
        '--object-store-memory',
        '200000000',
      ],
      nodeDir,
      120_000,
      { TRAY_TOKEN: token },
    );
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    const nodeRecord = record(nodeDir);
    cluster.started.push(...Object.values(nodeRecord.pids));
    expect(nodeRecord.nodeId).not.toBe(headRecord.nodeId);

    const nodeBPids = [nodeRecord.pids.supervisor, nodeRecord.pids.raylet].filter(
      (p) => typeof p === 'number',
    );
    const run = await driver(
      DRIVER,
      { TMPDIR: headDir, TRAY_ADDRESS: headRecord.gcsAddress, NODE_B_PIDS: nodeBPids.join(',') },
      120_000,
    );
    expect(run.stderr, run.stdout).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(result.nodes).toBe(2);
    expect(result.here).toBe(headRecord.nodeId);
    expect(result.taskNode).toBe(nodeRecord.nodeId);
    expect(result.actorNode).toBe(nodeRecord.nodeId);
    expect(result.summed).toBe(result.expected);
    expect(result.madeRight).toBe(true);
    expect(result.lostError).toMatchObject({ name: 'ObjectLostError', isObjectLost: true });
    expect(result.orphanPending).toBe(true);
    expect(result.lostError.message).toMatch(
      new RegExp(`node whose store held it \\(${nodeRecord.nodeId}\\)`),
    );
  });

  it('makes a lost result again on another node (lineage reconstruction)', { timeout: 180_000 }, async () => {
    // The head runs nothing (0 CPUs); node B is the only node with a CPU when the task first runs.
    const headDir = cluster.tempDir();
    const head = await tray(
      ['start', '--head', '--port', '0', '--num-cpus', '0', '--object-store-memory', '100000000'],
      headDir,
    );
    expect(head.code, head.stderr).toBe(0);
    const headRecord = record(headDir);
    cluster.started.push(...Object.values(headRecord.pids));
    const token = readFileSync(headRecord.tokenFile, 'utf8').trim();
    const bDir = cluster.tempDir();
    const b = await tray(
      ['start', '--address', headRecord.gcsAddress, '--num-cpus', '1', '--object-store-memory', '100000000'],
      bDir,
      120_000,
      { TRAY_TOKEN: token },
    );
    expect(b.code, b.stderr).toBe(0);
    const bRecord = record(bDir);
    cluster.started.push(...Object.values(bRecord.pids));
    const cDir = cluster.tempDir();

    const run = await driver(
      `
const { execFileSync } = await import('node:child_process');
const { readFileSync } = await import('node:fs');
const tray = await import('@tray/core');
await tray.init();
const make = tray.remote((n) => ({ node: tray.getRuntimeContext().nodeId, data: new Uint8Array(n).fill(42) }));
const ref = make.remote(1 << 20);
await tray.wait([ref]); // made on B, still only in B's store
// Node C joins, then node B dies with the result.
execFileSync(process.execPath, [process.env.CLI_BIN, 'start', '--address', process.env.TRAY_ADDRESS, '--num-cpus', '1',
  '--object-store-memory', '100000000'], { env: { ...process.env, TMPDIR: process.env.NODE_C_DIR } });
const nodeC = JSON.parse(readFileSync(process.env.NODE_C_DIR + '/tray/current_cluster.json', 'utf8')).nodeId;
for (const pid of process.env.NODE_B_PIDS.split(',')) process.kill(Number(pid), 'SIGKILL');
const value = await tray.get(ref, { timeoutMs: 120000 });
const intact = value.data.length === 1 << 20 && value.data.every((x) => x === 42);
console.log(JSON.stringify({ madeOn: value.node, nodeC, intact }));
await tray.shutdown();
`,
      {
        TMPDIR: headDir,
        TRAY_ADDRESS: headRecord.gcsAddress,
        TRAY_TOKEN: token,
        CLI_BIN: BIN,
        NODE_C_DIR: cDir,
        NODE_B_PIDS: [bRecord.pids.supervisor, bRecord.pids.raylet].join(','),
      },
      150_000,
    );
    // Node C's daemons are stopped with the rest.
    try {
      cluster.started.push(...Object.values(record(cDir).pids));
    } catch {}
    expect(run.stderr, run.stdout).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(result.intact).toBe(true);
    expect(result.madeOn).toBe(result.nodeC);
  });

  it("frees a borrowed object in the other node's store once its last borrower drops it", {
    timeout: 180_000,
  }, async () => {
    const headDir = cluster.tempDir();
    const head = await tray(
      ['start', '--head', '--port', '0', '--num-cpus', '1', '--object-store-memory', '100000000'],
      headDir,
    );
    expect(head.code, head.stderr).toBe(0);
    const headRecord = record(headDir);
    cluster.started.push(...Object.values(headRecord.pids));
    const token = readFileSync(headRecord.tokenFile, 'utf8').trim();
    const bDir = cluster.tempDir();
    const b = await tray(
      [
        'start',
        '--address',
        headRecord.gcsAddress,
        '--num-cpus',
        '1',
        '--resources',
        '{"nodeB": 1}',
        '--object-store-memory',
        '100000000',
      ],
      bDir,
      120_000,
      { TRAY_TOKEN: token },
    );
    expect(b.code, b.stderr).toBe(0);
    cluster.started.push(...Object.values(record(bDir).pids));

    // The driver owns a 3 MiB result made on node B (its primary copy is in B's store) and lends
    // it to an actor on the head, which reads it (a copy is pulled into the head's store). Both
    // stores are watched through their sockets, which a task on each node reports.
    const run = await driver(
      `
const { StoreClient } = await import('@tray/object-store');
const v8 = await import('node:v8');
const vm = await import('node:vm');
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const tray = await import('@tray/core');
await tray.init();
const here = tray.getRuntimeContext().nodeId;
const socketOf = tray.remote(() => process.env.TRAY_STORE_SOCKET);
const [headSocket, bSocket] = await tray.get([
  socketOf.options({ schedulingStrategy: { nodeId: here, soft: false } }).remote(),
  socketOf.options({ resources: { nodeB: 1 } }).remote(),
]);
const [headStore, bStore] = await Promise.all([StoreClient.connect(headSocket), StoreClient.connect(bSocket)]);
const count = async () => [(await headStore.stats()).numObjects, (await bStore.stats()).numObjects];
async function until(what, check) {
  for (const end = Date.now() + 60000; ; ) {
    gc();
    const counts = await count();
    if (check(counts)) return counts;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what + ': stores hold ' + counts);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const [headBase, bBase] = await until('the stores to settle', () => true);
class Holder {
  hold(box) { this.held = box.ref; return true; }
  async read() { const v = await tray.get(this.held); return { length: v.length, node: tray.getRuntimeContext().nodeId, ok: v.every((x) => x === 7) }; }
  drop() { this.held = undefined; return true; }
}
const holder = tray.remote(Holder).options({ schedulingStrategy: { nodeId: here, soft: false } }).remote();
const make = tray.remote((n) => new Uint8Array(n).fill(7)).options({ resources: { nodeB: 1 } });
let ref = make.remote(3 << 20);
await tray.wait([ref]);
await tray.get(holder.hold.remote({ ref }));
ref = undefined;
const whileBorrowed = await until('the driver to drop its ref', ([, bCount]) => bCount === bBase + 1);
const read = await tray.get(holder.read.remote());
const afterRead = await count();
await tray.get(holder.drop.remote());
const afterDrop = await until('the object to be freed on both nodes', ([h, bCount]) => h === headBase && bCount === bBase);
console.log(JSON.stringify({ here, headBase, bBase, whileBorrowed, read, afterRead, afterDrop }));
await headStore.close();
await bStore.close();
await tray.shutdown();
`,
      { TMPDIR: headDir, TRAY_ADDRESS: headRecord.gcsAddress },
      150_000,
    );
    expect(run.stderr, run.stdout).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
    // B keeps the primary while only the actor borrows it; the actor reads all of it on the head.
    expect(result.whileBorrowed[1]).toBe(result.bBase + 1);
    expect(result.read).toEqual({ length: 3 << 20, node: result.here, ok: true });
    expect(result.afterRead).toEqual([result.headBase + 1, result.bBase + 1]);
    // Once the actor drops it, the primary on B and the copy on the head are both gone.
    expect(result.afterDrop).toEqual([result.headBase, result.bBase]);
  });
});
