// An actor whose creation waits on a node that vanishes without closing its connections (a
// machine that lost power, a partition): the raylet there never answers the lease request. Once
// the health checks mark that node dead, the lease is given up and the actor is created on the
// node that is left. Real sockets throughout: the GCS in this process over gRPC, the two raylets
// as gRPC servers (one that hangs, one that grants), the granted worker as a framed server.

import { randomBytes } from 'node:crypto';
import {
  CoreWorkerService,
  createGrpcServer,
  type FramedServer,
  listen,
  NodeManagerService,
  tray,
} from '@tray/protocol';
import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { GcsClient } from '../client.js';
import { startGcsServer } from '../server.js';

const TOKEN = 'node-death-token';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the GCS creating an actor when a node dies', () => {
  it('gives up a lease its dead node never answered and creates the actor on a live node', {
    timeout: 60_000,
  }, async () => {
    const gcs = await startGcsServer({
      token: TOKEN,
      log: () => {},
      healthCheck: { periodMs: 100, timeoutMs: 300, failureThreshold: 3 },
    });
    cleanups.push(() => gcs.close());
    const client = new GcsClient(gcs.address, { token: TOKEN });
    cleanups.push(() => client.close());

    // Node A hangs: it accepts calls and never answers (lease requests nor health probes).
    let askedA = 0;
    const hungRaylet = createGrpcServer({ token: TOKEN }).addService(NodeManagerService, {
      RequestWorkerLease: () => {
        askedA += 1;
        return new Promise(() => {});
      },
      GetNodeStats: () => new Promise(() => {}),
    });
    const portA = await hungRaylet.listen('127.0.0.1', 0);
    cleanups.push(() => hungRaylet.close(0));

    // Node B grants a worker that runs the constructor.
    const nodeA = randomBytes(28);
    const nodeB = randomBytes(28);
    const workerId = randomBytes(28);
    const worker: FramedServer = await listen(
      { host: '127.0.0.1', port: 0 },
      (c) => {
        c.handle(CoreWorkerService.PushTask, () => ({ returnObjects: [] }));
      },
      { token: TOKEN },
    );
    cleanups.push(() => worker.close());
    const workerPort = (worker.address as { port: number }).port;
    const liveRaylet = createGrpcServer({ token: TOKEN }).addService(NodeManagerService, {
      RequestWorkerLease: (req: tray.v1.WorkerLeaseRequest) => ({
        workerAddress: { nodeId: nodeB, workerId, ip: '127.0.0.1', port: workerPort },
        leaseId: req.leaseId,
      }),
      GetNodeStats: () => ({}),
    });
    const portB = await liveRaylet.listen('127.0.0.1', 0);
    cleanups.push(() => liveRaylet.close(0));

    const cpu = { quantities: { CPU: 1 } };
    await client.registerNode({ nodeId: nodeA, nodeIp: '127.0.0.1', rayletPort: portA, totalResources: cpu });
    await client.registerNode({ nodeId: nodeB, nodeIp: '127.0.0.1', rayletPort: portB, totalResources: cpu });

    const actorId = Buffer.concat([randomBytes(12), Buffer.from([1, 0, 0, 0])]);
    const spec = {
      type: tray.v1.TaskType.ACTOR_CREATION_TASK,
      jobId: Buffer.from([1, 0, 0, 0]),
      actorCreation: { actorId, detached: true, maxRestarts: 0 },
      // A first, while it still counts as alive.
      schedulingStrategy: { nodeAffinity: { nodeId: nodeA, soft: true } },
    };
    await client.registerActor(spec);
    const created = client.createActor(spec);
    await waitFor(() => askedA > 0, { what: 'the lease request to node A' });
    await waitFor(async () => (await client.checkAlive([nodeA]))[0] === false, {
      what: 'node A to be marked dead',
    });

    const address = await created;
    expect(Buffer.from(address.workerId ?? []).toString('hex')).toBe(workerId.toString('hex'));
    const actor = await client.getActorInfo(actorId);
    expect(actor.state).toBe(tray.v1.ActorTableData.State.ALIVE);
    expect(Buffer.from(actor.address?.nodeId ?? []).toString('hex')).toBe(nodeB.toString('hex'));
    expect(askedA).toBe(1);
  });
});

describe('an actor with hard node affinity', () => {
  it('fails, naming the node, when the node it waits on dies, and at once when it is already dead', {
    timeout: 60_000,
  }, async () => {
    const gcs = await startGcsServer({
      token: TOKEN,
      log: () => {},
      healthCheck: { periodMs: 100, timeoutMs: 300, failureThreshold: 3 },
    });
    cleanups.push(() => gcs.close());
    const client = new GcsClient(gcs.address, { token: TOKEN });
    cleanups.push(() => client.close());

    // The pinned node takes the lease request and never answers (as one that is full, then lost).
    let asked = 0;
    const hungRaylet = createGrpcServer({ token: TOKEN }).addService(NodeManagerService, {
      RequestWorkerLease: () => {
        asked += 1;
        return new Promise(() => {});
      },
      GetNodeStats: () => new Promise(() => {}),
    });
    const port = await hungRaylet.listen('127.0.0.1', 0);
    cleanups.push(() => hungRaylet.close(0));
    const nodeId = randomBytes(28);
    await client.registerNode({
      nodeId,
      nodeIp: '127.0.0.1',
      rayletPort: port,
      totalResources: { quantities: { CPU: 1 } },
    });

    const pinnedActor = async () => {
      const spec = {
        type: tray.v1.TaskType.ACTOR_CREATION_TASK,
        jobId: Buffer.from([1, 0, 0, 0]),
        actorCreation: {
          actorId: Buffer.concat([randomBytes(12), Buffer.from([1, 0, 0, 0])]),
          detached: true,
          maxRestarts: -1,
        },
        schedulingStrategy: { nodeAffinity: { nodeId, soft: false } },
      };
      await client.registerActor(spec);
      return { spec, actorId: spec.actorCreation.actorId };
    };
    const waiting = await pinnedActor();
    const created = client.createActor(waiting.spec);
    created.catch(() => {});
    await waitFor(() => asked > 0, { what: 'the lease request to the pinned node' });

    const hex = nodeId.toString('hex');
    const named = new RegExp(`must run on node ${hex} \\(hard node affinity, soft: false\\), which is dead`);
    await expect(created).rejects.toThrow(named);
    const dead = await client.getActorInfo(waiting.actorId);
    expect(dead.state).toBe(tray.v1.ActorTableData.State.DEAD);
    expect(dead.deathCause?.message).toMatch(named);
    // maxRestarts: -1 did not make it wait for the node to come back: it never does.
    expect(dead.numRestarts).toBe(0);

    // One created after the node is dead fails without asking anyone.
    const late = await pinnedActor();
    await expect(client.createActor(late.spec)).rejects.toThrow(named);
    expect(asked).toBe(1);
  });
});
