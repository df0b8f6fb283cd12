import { isAlive, track, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { pushTask, requestLease, returnLease, startNode, stats, type TestNode } from './harness.js';

let node: TestNode | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
});

describe('worker leases', () => {
  it('grants a lease to a registered worker, and reuses the worker after the lease returns', async () => {
    node = await startNode();
    const first = await requestLease(node.driver);
    expect(first.workerAddress?.socketPath).toMatch(/sockets\/w-[0-9a-f]{8}$/);
    expect(first.workerPid).toBeGreaterThan(0);
    const ran = await pushTask(first, 'echo');
    expect(ran.pid).toBe(first.workerPid);
    await returnLease(node.driver, first);
    const second = await requestLease(node.driver);
    const pids = (await stats(node.driver)).workers.filter((w) => !w.isDriver).map((w) => w.pid);
    expect(pids).toContain(second.workerPid);
    // With 2 prestarted workers and one lease at a time, no third worker was needed.
    expect(pids.length).toBe(2);
    await returnLease(node.driver, second);
  });

  it('holds requests beyond the node CPUs until a lease returns', async () => {
    node = await startNode({ numCpus: 2 });
    const a = await requestLease(node.driver);
    const b = await requestLease(node.driver);
    const c = track(requestLease(node.driver));
    await waitFor(async () => (await stats(node!.driver)).numPendingLeases === 1, {
      what: 'the third request to queue',
    });
    expect(c.done).toBe(false);
    expect((await stats(node.driver)).available?.quantities?.CPU ?? 0).toBe(0);
    await returnLease(node.driver, a);
    const third = (await waitFor(() => c.value, { what: 'the third lease' }))!;
    expect(third.workerPid).toBeGreaterThan(0);
    await returnLease(node.driver, b);
    await returnLease(node.driver, third);
    expect((await stats(node.driver)).available?.quantities?.CPU).toBe(2);
  });

  it('grants queued requests of different classes in turn: a stream of task leases does not starve an actor', async () => {
    node = await startNode({ numCpus: 1 });
    const first = await requestLease(node.driver);
    const tasks = [track(requestLease(node.driver)), track(requestLease(node.driver))];
    const actor = track(requestLease(node.driver, { resources: {}, actor: {} }));
    await waitFor(async () => (await stats(node!.driver)).numPendingLeases === 3, {
      what: 'three requests to queue',
    });
    await returnLease(node.driver, first);
    const second = (await waitFor(() => tasks[0]!.value, { what: 'the next task lease' }))!;
    await returnLease(node.driver, second);
    // The actor's class had its turn before the tasks' class got a second grant.
    const placed = (await waitFor(() => actor.value, { what: 'the actor lease' }))!;
    expect(placed.workerPid).toBeGreaterThan(0);
    expect(tasks[1]!.done).toBe(false);
    await returnLease(node.driver, placed);
    await returnLease(node.driver, (await waitFor(() => tasks[1]!.value, { what: 'the last task lease' }))!);
  });

  it('answers an impossible request at once, naming the missing resource', async () => {
    node = await startNode({ numCpus: 2 });
    const reply = await requestLease(node.driver, { resources: { CPU: 1, GPU: 1 } });
    expect(reply.infeasible).toBe(true);
    expect(reply.failureMessage).toMatch(/^no node has \{"GPU": 1\}; this cluster has \{"CPU": 2, /);
    const custom = await requestLease(node.driver, { resources: { accelerator_x: 0.5 } });
    expect(custom.failureMessage).toContain('{"accelerator_x": 0.5}');
    expect((await stats(node.driver)).numInfeasibleLeases).toBe(2);
  });

  it('gives two GPU:1 leases different GPU ids', async () => {
    node = await startNode({ numCpus: 2, numGpus: 2 });
    const a = await requestLease(node.driver, { resources: { CPU: 1, GPU: 1 } });
    const b = await requestLease(node.driver, { resources: { CPU: 1, GPU: 1 } });
    const ids = (r: typeof a) => r.resourceInstances.find((i) => i.name === 'GPU')!.ids as number[];
    expect(ids(a)).toHaveLength(1);
    expect(ids(b)).toHaveLength(1);
    expect(ids(a)[0]).not.toBe(ids(b)[0]);
    expect([...ids(a), ...ids(b)].sort()).toEqual([0, 1]);
  });

  it('starts workers with the runtime env vars of the lease, apart from default workers', async () => {
    node = await startNode({ numCpus: 2 });
    const plain = await requestLease(node.driver);
    expect((await pushTask(plain, 'echo')).foo).toBe(null);
    const withEnv = await requestLease(node.driver, { envVars: { FOO: 'bar' } });
    expect((await pushTask(withEnv, 'echo')).foo).toBe('bar');
    expect(withEnv.workerPid).not.toBe(plain.workerPid);
  });

  it('cancels a queued request', async () => {
    node = await startNode({ numCpus: 1 });
    await requestLease(node.driver);
    const leaseId = Buffer.from('queued-lease');
    const queued = requestLease(node.driver, { leaseId });
    await waitFor(async () => (await stats(node!.driver)).numPendingLeases === 1, {
      what: 'the request to queue',
    });
    const { NodeManagerService } = await import('@tray/protocol');
    const cancel = await node.driver.request(NodeManagerService.CancelWorkerLease, { leaseId });
    expect(cancel.success).toBe(true);
    expect((await queued).canceled).toBe(true);
  });

  it('schedules an actor with its placement resources and holds none while it lives', async () => {
    node = await startNode({ numCpus: 1 });
    const actor = await requestLease(node.driver, { resources: {}, actor: {} });
    expect(actor.workerPid).toBeGreaterThan(0);
    expect((await stats(node.driver)).available?.quantities?.CPU).toBe(1);
    const task = await requestLease(node.driver);
    expect(task.workerPid).not.toBe(actor.workerPid);
    await returnLease(node.driver, actor);
    await waitFor(() => !isAlive(actor.workerPid), { what: 'the actor worker to be killed' });
  });

  it("releases a restarted GCS's predecessor's actor leases (gRPC), keeping the workers it names", {
    timeout: 120_000,
  }, async () => {
    node = await startNode({ numCpus: 2 });
    const { createGrpcClient, NodeManagerService, RemoteError } = await import('@tray/protocol');
    const { TOKEN } = await import('./harness.js');
    const grpc = createGrpcClient(`127.0.0.1:${node.raylet.grpcPort}`, { token: TOKEN, retries: 0 });
    // The GCS leases over gRPC: the same requests as the harness's, on its client.
    const gcs = {
      request: (method: unknown, req: unknown) =>
        grpc.call(method as never, req as never, { deadlineMs: 120_000 }),
    } as never;
    try {
      // A driver's actor lease on its own connection is not the GCS's.
      const own = await requestLease(node.driver, { resources: {}, actor: {} });
      const actor = { resources: { CPU: 1 }, actor: {} };
      const kept = await requestLease(gcs, actor);
      const stale = await requestLease(gcs, actor);
      const queued = requestLease(gcs, actor);
      await waitFor(async () => (await stats(node!.driver)).numPendingLeases === 1, {
        what: 'the third lease to queue',
      });

      const reply = await grpc.call(NodeManagerService.ReleaseUnusedActorWorkers, {
        workerIdsInUse: [kept.workerAddress!.workerId!],
      });
      expect(reply.released).toBe(2);
      expect((await queued).canceled).toBe(true);
      await waitFor(() => !isAlive(stale.workerPid), { what: 'the stale worker to be killed' });
      expect(isAlive(kept.workerPid)).toBe(true);
      expect(isAlive(own.workerPid)).toBe(true);
      expect((await stats(node.driver)).available?.quantities?.CPU).toBe(1);

      const bad = await grpc
        .call(NodeManagerService.ReleaseUnusedActorWorkers, { workerIdsInUse: [Buffer.alloc(3)] })
        .catch((err: unknown) => err);
      expect(bad).toBeInstanceOf(RemoteError);
      expect((bad as Error).message).toMatch(/worker_ids_in_use\[0\] must be 28 bytes, got 3/);
      expect(isAlive(kept.workerPid)).toBe(true);
    } finally {
      grpc.close();
    }
  });
});
