// Leases on other nodes (spillback), end to end: one real GCS and two real raylets with real
// workers, on one machine. What an owner notices: a request its raylet cannot serve comes back
// with another raylet's address (node id, ip, framed TCP port); asked there over TCP with the
// forwarded flag, it is granted and the worker runs the task; a forwarded request is never
// bounced again; a request nobody can serve is infeasible; plain leases stay local while the
// local node has room; a lease taken over TCP ends when that connection closes.
import { randomBytes } from 'node:crypto';
import type { GcsServer } from '@tray/gcs';
import { type Connection, connect, createGrpcClient, NodeManagerService, tray } from '@tray/protocol';
import {
  TEST_JOB_ID as JOB_ID,
  pushTask,
  requestLease,
  returnLease,
  startNode,
  nodeStats as stats,
  type TestNode,
  TEST_TOKEN as TOKEN,
} from '@tray/raylet/testing';
import { cleanUp, isAlive, onCleanup, track, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { startGcs } from './gcs.js';

afterEach(cleanUp);

async function node(gcs: GcsServer, options: Parameters<typeof startNode>[0] = {}): Promise<TestNode> {
  const n = await startNode({ gcsAddress: gcs.address, numCpus: 2, prestartWorkers: 1, ...options });
  onCleanup(() => n.stop());
  return n;
}

/** A framed connection to a raylet's TCP port, as an owner on another node would open it. */
async function overTcp(address: { ip?: string | null; port?: number | null }): Promise<Connection> {
  const c = await connect({ host: address.ip!, port: address.port! }, { token: TOKEN });
  onCleanup(() => c.close());
  return c;
}

/** A lease request as an owner sends it after a spillback: `grant_or_reject` set. */
function forwardedLease(conn: Connection, resources: Record<string, number>, leaseId?: Buffer) {
  return conn.request(NodeManagerService.RequestWorkerLease, {
    leaseId,
    grantOrReject: true,
    task: {
      taskId: randomBytes(24),
      jobId: JOB_ID,
      type: tray.v1.TaskType.NORMAL_TASK,
      requiredResources: { quantities: resources },
    },
    ownerAddress: { workerId: randomBytes(28) },
  });
}

async function workerPids(n: TestNode) {
  return (await stats(n.driver)).workers.filter((w) => !w.isDriver).map((w) => w.pid);
}

/** The hex node id of a spillback reply's address. */
function nodeOf(address: tray.v1.Address.$Properties | null | undefined): string {
  return Buffer.from(address?.nodeId ?? []).toString('hex');
}

describe('leases on other nodes (spillback)', () => {
  it('sends a request for a resource only node B has to B, where it is granted over TCP and runs', async () => {
    const gcs = await startGcs();
    const a = await node(gcs);
    const b = await node(gcs, { resources: { nodeB: 1 } });

    const reply = await requestLease(a.driver, { resources: { nodeB: 1 } });
    expect(reply.workerAddress).toBeFalsy();
    expect(reply.infeasible).toBe(false);
    const at = reply.retryAtRayletAddress!;
    expect(nodeOf(at)).toBe(b.raylet.nodeId);
    expect(at).toMatchObject({ ip: '127.0.0.1', port: b.raylet.framedPort, socketPath: b.raylet.socketPath });
    expect((await stats(a.driver)).numPendingLeases).toBe(0);

    const toB = await overTcp(at);
    const granted = await forwardedLease(toB, { nodeB: 1 });
    expect(granted.workerPid).toBeGreaterThan(0);
    expect(await workerPids(b)).toContain(granted.workerPid);
    expect((await pushTask(granted, 'echo')).pid).toBe(granted.workerPid);
    expect((await stats(b.driver)).available?.quantities?.nodeB ?? 0).toBe(0);
    await returnLease(toB, granted);
    expect((await stats(b.driver)).available?.quantities?.nodeB).toBe(1);
  });

  it('never spills a forwarded request again: it queues where it is, or is infeasible there', async () => {
    const gcs = await startGcs();
    const a = await node(gcs);
    const b = await node(gcs, { resources: { nodeB: 1 } });
    const toA = await overTcp({ ip: '127.0.0.1', port: a.raylet.framedPort });
    const there = await forwardedLease(toA, { nodeB: 1 });
    expect(there.retryAtRayletAddress).toBeFalsy();
    expect(there.infeasible).toBe(true);
    expect(there.failureMessage).toMatch(/^this node has no \{"nodeB": 1\} .*grant_or_reject/);

    // Over gRPC (the GCS's actor leases: it chose the node) a request is never sent on either.
    const grpc = createGrpcClient(`127.0.0.1:${a.raylet.grpcPort}`, { token: TOKEN });
    onCleanup(() => grpc.close());
    const viaGrpc = await grpc.call(NodeManagerService.RequestWorkerLease, {
      task: { taskId: randomBytes(24), jobId: JOB_ID, requiredResources: { quantities: { nodeB: 1 } } },
      ownerAddress: { workerId: randomBytes(28) },
    });
    expect(viaGrpc.retryAtRayletAddress).toBeFalsy();
    expect(viaGrpc.infeasible).toBe(true);

    const toB = await overTcp({ ip: '127.0.0.1', port: b.raylet.framedPort });
    const first = await forwardedLease(toB, { nodeB: 1 });
    const second = track(forwardedLease(toB, { nodeB: 1 }));
    await waitFor(async () => (await stats(b.driver)).numPendingLeases === 1, {
      what: 'the second request to queue on B',
    });
    expect(second.done).toBe(false);
    await returnLease(toB, first);
    const granted = await waitFor(() => second.value, { what: 'the queued lease on B' });
    expect(granted.retryAtRayletAddress).toBeFalsy();
    expect(await workerPids(b)).toContain(granted.workerPid);
    await returnLease(toB, granted);
  });

  it('answers infeasible when no alive node has the resource, but sends a request to a busy holder', async () => {
    const gcs = await startGcs();
    const a = await node(gcs);
    const b = await node(gcs, { resources: { nodeB: 1 } });
    const none = await requestLease(a.driver, { resources: { CPU: 1, GPU: 1 } });
    expect(none.infeasible).toBe(true);
    expect(none.retryAtRayletAddress).toBeFalsy();
    expect(none.failureMessage).toMatch(/^no node has \{"GPU": 1\}; this cluster has \{"CPU": 4, /);

    // B's nodeB is taken: A still sends the request to B (busy, not infeasible), and B queues it.
    const toB = await overTcp({ ip: '127.0.0.1', port: b.raylet.framedPort });
    const held = await forwardedLease(toB, { nodeB: 1 });
    const again = await requestLease(a.driver, { resources: { nodeB: 1 } });
    expect(again.infeasible).toBe(false);
    expect(nodeOf(again.retryAtRayletAddress)).toBe(b.raylet.nodeId);
    await returnLease(toB, held);
  });

  it('keeps plain CPU leases on the local node while it has room, then spills to a free node', async () => {
    const gcs = await startGcs();
    const a = await node(gcs);
    const b = await node(gcs, { resources: { marker: 1 } });
    // Once A knows of B (a request only B can serve makes A read the node table again)...
    expect((await requestLease(a.driver, { resources: { marker: 1 } })).retryAtRayletAddress).toBeTruthy();
    const first = await requestLease(a.driver);
    const second = await requestLease(a.driver);
    for (const lease of [first, second]) {
      expect(lease.retryAtRayletAddress).toBeFalsy();
      expect(await workerPids(a)).toContain(lease.workerPid);
    }
    // A is full and B has free CPUs: the policy picks B.
    const third = await requestLease(a.driver);
    expect(third.workerAddress).toBeFalsy();
    expect(nodeOf(third.retryAtRayletAddress)).toBe(b.raylet.nodeId);
    await returnLease(a.driver, first);
    await returnLease(a.driver, second);
  });

  it('sends a request queued while every node was full on to a node that has room later', async () => {
    const gcs = await startGcs();
    const a = await node(gcs, { numCpus: 1 });
    const first = await requestLease(a.driver);
    expect(first.retryAtRayletAddress).toBeFalsy();
    // A is full and alone: this one queues on A...
    const queued = requestLease(a.driver);
    // ...and, once B joins with a free CPU, is sent there instead of waiting for A.
    const b = await node(gcs, { numCpus: 1 });
    const reply = await queued;
    expect(reply.workerAddress).toBeFalsy();
    expect(nodeOf(reply.retryAtRayletAddress)).toBe(b.raylet.nodeId);
    await returnLease(a.driver, first);
  });

  it('sees a node that joins after it started', async () => {
    const gcs = await startGcs();
    const a = await node(gcs);
    expect((await requestLease(a.driver, { resources: { late: 1 } })).infeasible).toBe(true);
    const late = await node(gcs, { resources: { late: 1 } });
    const reply = await requestLease(a.driver, { resources: { late: 1 } });
    expect(nodeOf(reply.retryAtRayletAddress)).toBe(late.raylet.nodeId);
  });

  it('ends a lease taken over TCP when that connection closes, and refuses RegisterWorker and a bad token there', async () => {
    const gcs = await startGcs();
    const b = await node(gcs, { resources: { nodeB: 1 } });
    const toB = await overTcp({ ip: '127.0.0.1', port: b.raylet.framedPort });
    const granted = await forwardedLease(toB, { nodeB: 1 });
    await expect(
      toB.request(NodeManagerService.RegisterWorker, {
        workerId: randomBytes(28),
        pid: process.pid,
        isDriver: true,
        jobId: JOB_ID,
      }),
    ).rejects.toThrow(/only served on the raylet socket/);
    toB.close();
    await waitFor(() => !isAlive(granted.workerPid), {
      what: 'the worker of the dropped lease to be killed',
    });
    await waitFor(async () => (await stats(b.driver)).available?.quantities?.nodeB === 1, {
      what: 'nodeB to be free again',
    });
    await expect(
      connect({ host: '127.0.0.1', port: b.raylet.framedPort }, { token: 'wrong' }).then((c) =>
        c.request(NodeManagerService.GetNodeStats, {}),
      ),
    ).rejects.toThrow();
  });
});
