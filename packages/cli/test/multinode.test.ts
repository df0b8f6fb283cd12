// Two nodes on one machine, built the way a user builds a cluster: `tray start --head`, then
// `tray start --address` for a second node with its own object store and a resource only it
// has. A driver on the head runs tasks and an actor that need that resource: they are leased on
// the second node (spillback), their large arguments and results cross between the two stores,
// and the driver talks to the remote workers over TCP.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { driver, TestCluster, tray } from './cli-process.js';

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
console.log(JSON.stringify({ here, taskNode, summed, expected, madeRight, actorNode, nodes }));
await tray.shutdown();
`;

describe('a cluster of two nodes on one machine', () => {
  it('runs tasks and an actor on the node that has what they need, moving objects between the stores', async () => {
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
        '{"nodeB": 1}',
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

    const run = await driver(DRIVER, { TMPDIR: headDir, TRAY_ADDRESS: headRecord.gcsAddress }, 120_000);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(result.nodes).toBe(2);
    expect(result.here).toBe(headRecord.nodeId);
    expect(result.taskNode).toBe(nodeRecord.nodeId);
    expect(result.actorNode).toBe(nodeRecord.nodeId);
    expect(result.summed).toBe(result.expected);
    expect(result.madeRight).toBe(true);
  });
});
