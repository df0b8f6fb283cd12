// What a node started with `tray start` tells the cluster about itself: the address it was given
// (--node-ip-address) is where its raylet and workers listen and what the GCS records, and a
// raylet that dies on that node is reported dead by the node's supervisor at once, with how it
// died, instead of after the GCS's health checks run out (about 15 s).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { GcsClient } from '@tray/gcs';
import { tray as proto } from '@tray/protocol';
import { isAlive, killAndWait, removeStoreSegments, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { driver, TestCluster, tray } from './cli-process.js';

const cluster = new TestCluster();
const clients: GcsClient[] = [];
const raylets: number[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  cluster.cleanUp();
  // A SIGKILLed raylet cannot remove its store's shared-memory segment: remove it for it.
  for (const pid of raylets.splice(0)) {
    await killAndWait(pid, { timeoutMs: 10_000 });
    removeStoreSegments(pid);
  }
});

interface NodeRecord {
  gcsAddress: string;
  tokenFile: string;
  nodeId: string;
  pids: { supervisor: number; raylet: number; gcs?: number };
}

async function start(args: string[], extraEnv: Record<string, string> = {}) {
  const dir = cluster.tempDir();
  const run = await tray(['start', ...args], dir, 120_000, extraEnv);
  expect(run.code, run.stderr).toBe(0);
  const record: NodeRecord = JSON.parse(readFileSync(path.join(dir, 'tray', 'current_cluster.json'), 'utf8'));
  cluster.started.push(...Object.values(record.pids).filter((p): p is number => typeof p === 'number'));
  raylets.push(record.pids.raylet);
  return { dir, record, token: readFileSync(record.tokenFile, 'utf8').trim() };
}

function gcsClient(address: string, token: string): GcsClient {
  const client = new GcsClient(address, { token });
  clients.push(client);
  return client;
}

/** Resolves true when a TCP connection to host:port is accepted, false when refused. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('tray start --node-ip-address', () => {
  it('binds and registers the raylet and its workers at the given address', {
    timeout: 180_000,
  }, async () => {
    const head = await start([
      '--head',
      '--port',
      '0',
      '--node-ip-address',
      '127.0.0.2',
      '--num-cpus',
      '1',
      '--object-store-memory',
      '100000000',
    ]);
    expect(head.record.gcsAddress).toMatch(/^127\.0\.0\.2:\d+$/);
    const [node] = await gcsClient(head.record.gcsAddress, head.token).getAllNodeInfo();
    expect(node!.nodeIp).toBe('127.0.0.2');
    for (const port of [node!.rayletPort, node!.rayletFramedPort]) {
      expect(await accepts('127.0.0.2', port)).toBe(true);
      expect(await accepts('127.0.0.1', port)).toBe(false);
    }
    // A driver attached to that node runs a task; its worker was given the node's address.
    const run = await driver(
      `
const tray = await import('@tray/core');
await tray.init();
// The worker's own TCP listening sockets, from /proc: the local addresses of its socket fds in LISTEN.
const listening = tray.remote(async () => {
  const fs = await import('node:fs');
  const inodes = new Set();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const link = fs.readlinkSync('/proc/self/fd/' + fd);
      if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
    } catch {}
  }
  const rows = fs.readFileSync('/proc/net/tcp', 'utf8').trim().split('\\n').slice(1).map((l) => l.trim().split(/\\s+/));
  const addresses = rows.filter((c) => c[3] === '0A' && inodes.has(c[9])).map((c) => c[1].split(':')[0]);
  const ip = (hex) => [hex.slice(6, 8), hex.slice(4, 6), hex.slice(2, 4), hex.slice(0, 2)].map((b) => parseInt(b, 16)).join('.');
  return { env: process.env.TRAY_NODE_IP, listens: addresses.map(ip) };
});
const worker = await tray.get(listening.remote());
console.log(JSON.stringify({ worker, nodes: (await tray.nodes()).map((n) => n.address) }));
await tray.shutdown();
`,
      { TMPDIR: head.dir, TRAY_ADDRESS: head.record.gcsAddress },
      120_000,
    );
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(result.worker.env).toBe('127.0.0.2');
    expect(result.worker.listens).toEqual(['127.0.0.2']);
    expect(result.nodes).toEqual([`127.0.0.2:${node!.rayletPort}`]);
  });
});

describe('a raylet that dies', () => {
  it("is marked dead at once by its node's supervisor, which then exits", { timeout: 180_000 }, async () => {
    const head = await start([
      '--head',
      '--port',
      '0',
      '--num-cpus',
      '1',
      '--object-store-memory',
      '100000000',
    ]);
    const b = await start(
      ['--address', head.record.gcsAddress, '--num-cpus', '1', '--object-store-memory', '100000000'],
      { TRAY_TOKEN: head.token },
    );
    const gcs = gcsClient(head.record.gcsAddress, head.token);
    const stateOfB = async () =>
      (await gcs.getAllNodeInfo()).find((n) => Buffer.from(n.nodeId).toString('hex') === b.record.nodeId);
    expect((await stateOfB())?.state).toBe(proto.v1.NodeInfo.State.ALIVE);

    // An actor hard-pinned to B waits there for B's only CPU, held by another actor, when B dies.
    const marks = cluster.tempDir();
    const waiter = driver(
      `
      import * as tray from '@tray/core';
      import { writeFileSync } from 'node:fs';
      await tray.init();
      const B = process.env.NODE_B;
      const Where = tray.remote(class Where { node() { return tray.getRuntimeContext().nodeId; } });
      const pinned = { numCpus: 1, schedulingStrategy: { nodeId: B, soft: false } };
      const holder = Where.options(pinned).remote();
      console.log('HOLDER ' + (await tray.get(holder.node.remote())));
      const waiting = Where.options({ ...pinned, name: 'waiting', maxRestarts: -1 }).remote();
      writeFileSync(process.env.MARKS + '/submitted', '');
      try {
        await tray.get(waiting.node.remote(), { timeoutMs: 90000 });
        console.log('WAITING ran');
      } catch (err) {
        console.log('WAITING ' + err.name + ': ' + err.message.split(String.fromCharCode(10)).join(' '));
      }
      await tray.shutdown();
      `,
      { TRAY_ADDRESS: head.record.gcsAddress, TRAY_TOKEN: head.token, NODE_B: b.record.nodeId, MARKS: marks },
      120_000,
    );
    await waitFor(() => existsSync(path.join(marks, 'submitted')), {
      timeoutMs: 60_000,
      what: 'the driver to submit its pinned actor',
    });
    // Its creation is under way (a lease asked of B) before B is killed.
    const waitingState = async () => (await gcs.getAllActorInfo()).find((a) => a.name === 'waiting')?.state;
    await waitFor(async () => (await waitingState()) === proto.v1.ActorTableData.State.PENDING_CREATION, {
      timeoutMs: 30_000,
      what: 'the pinned actor to be PENDING_CREATION',
    });

    process.kill(b.record.pids.raylet, 'SIGKILL');
    const killedAt = Date.now();
    let dead: proto.v1.NodeInfo | undefined;
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      const info = await stateOfB();
      if (info?.state === proto.v1.NodeInfo.State.DEAD) {
        dead = info;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(dead, 'node B was not marked dead').toBeDefined();
    console.log(`node B was DEAD in the GCS ${Date.now() - killedAt} ms after its raylet was SIGKILLed`);
    // The supervisor's words, not the health checker's: it knew how the raylet ended.
    expect(dead!.deathReason).toMatch(
      new RegExp(
        `the raylet process \\(pid ${b.record.pids.raylet}\\) was killed by SIGKILL; reported by its node's supervisor`,
      ),
    );
    await waitFor(() => !isAlive(b.record.pids.supervisor), {
      timeoutMs: 30_000,
      what: "node B's supervisor to exit",
    });
    // The head is unaffected.
    const headInfo = (await gcs.getAllNodeInfo()).find(
      (n) => Buffer.from(n.nodeId).toString('hex') === head.record.nodeId,
    );
    expect(headInfo?.state).toBe(proto.v1.NodeInfo.State.ALIVE);

    const waited = await waiter;
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toContain(`HOLDER ${b.record.nodeId}`);
    expect(waited.stdout).toMatch(
      new RegExp(
        `WAITING ActorDiedError: .*must run on node ${b.record.nodeId} \\(hard node affinity, soft: false\\), which is dead`,
      ),
    );

    // As in Ray, a task with hard node affinity to the dead node fails instead of waiting forever;
    // a soft one runs elsewhere.
    const run = await driver(
      `
      import * as tray from '@tray/core';
      await tray.init();
      const f = tray.remote(() => tray.getRuntimeContext().nodeId);
      const B = process.env.NODE_B;
      console.log('SOFT ' + (await tray.get(f.options({ schedulingStrategy: { nodeId: B, soft: true } }).remote())));
      try {
        await tray.get(f.options({ schedulingStrategy: { nodeId: B, soft: false } }).remote(), { timeoutMs: 60000 });
        console.log('HARD ran');
      } catch (err) {
        console.log('HARD ' + err.name + ': ' + err.message);
      }
      // Actors the same way: soft falls back to the head, hard becomes DEAD naming the node.
      const Where = tray.remote(class Where { node() { return tray.getRuntimeContext().nodeId; } });
      const soft = Where.options({ schedulingStrategy: { nodeId: B, soft: true } }).remote();
      console.log('ACTOR SOFT ' + (await tray.get(soft.node.remote(), { timeoutMs: 60000 })));
      const hard = Where.options({ schedulingStrategy: { nodeId: B, soft: false }, maxRestarts: -1 }).remote();
      try {
        await tray.get(hard.node.remote(), { timeoutMs: 60000 });
        console.log('ACTOR HARD ran');
      } catch (err) {
        console.log('ACTOR HARD ' + err.name + ': ' + err.message.split(String.fromCharCode(10)).join(' '));
      }
      await tray.shutdown();
      `,
      { TRAY_ADDRESS: head.record.gcsAddress, TRAY_TOKEN: head.token, NODE_B: b.record.nodeId },
      90_000,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`SOFT ${head.record.nodeId}`);
    expect(run.stdout).toMatch(
      new RegExp(
        `HARD NodeDiedError: .*must run on node ${b.record.nodeId} \\(hard node affinity, soft: false\\), which is dead`,
      ),
    );
    expect(run.stdout).toContain(`ACTOR SOFT ${head.record.nodeId}`);
    expect(run.stdout).toMatch(
      new RegExp(
        `ACTOR HARD ActorDiedError: .*must run on node ${b.record.nodeId} \\(hard node affinity, soft: false\\), which is dead`,
      ),
    );
  });
});

describe('a node that freezes', () => {
  // SIGSTOP stands for a machine that lost power or its network: its processes close nothing, so
  // its TCP connections stay open. Only the GCS's health checks can tell, and owners must hear it
  // from the GCS (node-death-watch.ts) to retry what was running there.
  it('is found dead by the health checks, and its running task is retried on a live node', {
    timeout: 180_000,
  }, async () => {
    const fastChecks = {
      TRAY_HEALTH_CHECK_PERIOD_MS: '300',
      TRAY_HEALTH_CHECK_TIMEOUT_MS: '300',
      TRAY_HEALTH_CHECK_FAILURE_THRESHOLD: '3',
    };
    const head = await start(
      ['--head', '--port', '0', '--num-cpus', '1', '--object-store-memory', '100000000'],
      fastChecks,
    );
    const b = await start(
      ['--address', head.record.gcsAddress, '--num-cpus', '1', '--object-store-memory', '100000000'],
      { TRAY_TOKEN: head.token },
    );
    const frozen: number[] = [];
    try {
      const marker = path.join(cluster.tempDir(), 'running-on-b');
      const run = driver(
        `
        import * as tray from '@tray/core';
        import { existsSync } from 'node:fs';
        await tray.init();
        const where = tray.remote(async (b, marker) => {
          const { nodeId } = tray.getRuntimeContext();
          if (nodeId === b) {
            (await import('node:fs')).writeFileSync(marker, String(process.pid));
            await new Promise(() => {}); // never answers on B
          }
          return nodeId;
        });
        const B = process.env.NODE_B;
        const marker = process.env.MARKER;
        // Soft affinity runs the task elsewhere while the head's raylet has not seen B yet (its
        // view of other nodes is up to a second old): submit again until it runs on B, 250 ms
        // apart, so the head's idle lease (kept 20 ms for reuse) is given back in between.
        let ref;
        submit: for (let attempt = 0; attempt < 100; attempt++) {
          ref = where.options({ maxRetries: 1, schedulingStrategy: { nodeId: B, soft: true } }).remote(B, marker);
          for (;;) {
            const { ready } = await tray.wait([ref], { timeoutMs: 100 });
            if (existsSync(marker)) break submit;
            if (ready.length > 0) break;
          }
          await new Promise((r) => setTimeout(r, 250));
        }
        console.log('RESULT ' + (await tray.get(ref, { timeoutMs: 120000 })));
        await tray.shutdown();
        `,
        {
          TRAY_ADDRESS: head.record.gcsAddress,
          TRAY_TOKEN: head.token,
          NODE_B: b.record.nodeId,
          MARKER: marker,
        },
        150_000,
      );
      // Once the task runs on B, freeze B's raylet and its workers (its supervisor stays up, so
      // nothing reports the node's death but the health checks).
      const started = await Promise.race([
        waitFor(() => existsSync(marker), { timeoutMs: 60_000 }).then(
          () => ({ ok: true, ended: undefined }),
          () => ({ ok: false, ended: undefined }),
        ),
        run.then((ended) => ({ ok: existsSync(marker), ended })),
      ]);
      expect(started.ok, `the task never ran on B\n${started.ended?.stdout}\n${started.ended?.stderr}`).toBe(
        true,
      );
      const sessionB = path.dirname(b.record.tokenFile);
      const workersOfB = readdirSync(path.join(sessionB, 'logs'))
        .map((name) => /^worker-(\d+)\.out$/.exec(name)?.[1])
        .filter((pid): pid is string => pid !== undefined)
        .map(Number);
      expect(workersOfB).toContain(Number(readFileSync(marker, 'utf8')));
      for (const pid of [b.record.pids.raylet, ...workersOfB]) {
        if (isAlive(pid)) {
          process.kill(pid, 'SIGSTOP');
          frozen.push(pid);
        }
      }
      const { stdout, stderr, code } = await run;
      expect(code, stderr).toBe(0);
      // Answered by the head: the retry ran on a live node.
      expect(stdout).toContain(`RESULT ${head.record.nodeId}`);
      expect(stderr).toMatch(new RegExp(`node ${b.record.nodeId.slice(0, 12)} is dead`));
    } finally {
      for (const pid of frozen) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
