// Placement groups end to end: a real GCS (in this process, over gRPC) reserving bundles on real
// raylets with real workers. What a user notices: a CREATED group's CPUs are no longer free
// for other tasks, tasks scheduled into a bundle run, removal gives the CPUs back (killing the
// bundle's workers), and a group that does not fit stays PENDING until it does.
import { randomBytes } from 'node:crypto';
import { GcsClient } from '@tray/gcs';
import { tray } from '@tray/protocol';
import {
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

const State = tray.v1.PlacementGroupTableData.State;
afterEach(cleanUp);

async function cluster(cpusPerNode: number[]) {
  const gcs = await startGcs();
  const client = new GcsClient(gcs.address, { token: TOKEN });
  onCleanup(() => client.close());
  const nodes: TestNode[] = [];
  for (const numCpus of cpusPerNode) {
    const node = await startNode({ gcsAddress: gcs.address, numCpus, prestartWorkers: 1 });
    onCleanup(() => node.stop());
    nodes.push(node);
  }
  return { gcs, client, nodes };
}

/** CPU and placement-group resources only (memory is the machine's). */
function cpus(quantities: Record<string, number> | null | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(quantities ?? {}).filter(([name]) => name.startsWith('CPU')));
}

async function nodeResources(node: TestNode) {
  const s = await stats(node.driver);
  return { total: cpus(s.total?.quantities), available: cpus(s.available?.quantities) };
}

function createGroup(
  client: GcsClient,
  bundles: Record<string, number>[],
  strategy = tray.v1.PlacementStrategy.PACK,
) {
  const id = randomBytes(18);
  const created = client.createPlacementGroup({
    placementGroupId: id,
    bundles: bundles.map((quantities) => ({ resources: { quantities } })),
    strategy,
  });
  return { id, hex: id.toString('hex'), created };
}

describe('placement groups reserved on the raylets', () => {
  it('reserves 2 x {CPU: 1}: bundle leases run, plain ones wait until the group is removed', async () => {
    const { client, nodes } = await cluster([2]);
    const node = nodes[0]!;
    const { id, hex, created } = createGroup(client, [{ CPU: 1 }, { CPU: 1 }]);
    await created;
    expect(await client.waitPlacementGroupUntilReady(id, 15_000)).toBe(true);
    const group = await client.getPlacementGroup(id);
    expect(group.state).toBe(State.CREATED);
    expect(group.bundles.map((b) => Buffer.from(b.nodeId ?? []).toString('hex'))).toEqual([
      node.raylet.nodeId,
      node.raylet.nodeId,
    ]);

    const bundleResources = { [`CPU_group_0_${hex}`]: 1, [`CPU_group_1_${hex}`]: 1, [`CPU_group_${hex}`]: 2 };
    expect(await nodeResources(node)).toEqual({
      total: { CPU: 2, ...bundleResources },
      available: bundleResources,
    });
    // The GCS hears it too (what clusterResources()/availableResources() read).
    await waitFor(
      async () => {
        const [usage] = await client.getAllResourceUsage();
        return (
          cpus(usage?.available?.quantities)[`CPU_group_${hex}`] === 2 &&
          !cpus(usage?.available?.quantities).CPU
        );
      },
      { what: 'the GCS to see the bundles' },
    );

    const inBundle = await requestLease(node.driver, { bundle: { placementGroupId: id, index: 0 } });
    expect(inBundle.workerPid).toBeGreaterThan(0);
    expect((await pushTask(inBundle, 'echo')).pid).toBe(inBundle.workerPid);
    expect((await nodeResources(node)).available[`CPU_group_0_${hex}`]).toBeUndefined();

    const plain = track(requestLease(node.driver, { resources: { CPU: 1 } }));
    await waitFor(async () => (await stats(node.driver)).numPendingLeases === 1, {
      what: 'the plain lease to queue',
    });
    expect(plain.done).toBe(false);

    await client.removePlacementGroup(id);
    const granted = await waitFor(() => plain.value, { what: 'the plain lease' });
    expect(granted.workerPid).toBeGreaterThan(0);
    // The bundle's worker was killed with the group; the plain lease holds one of the 2 CPUs.
    await waitFor(() => !isAlive(inBundle.workerPid), { what: 'the bundle worker to die' });
    expect(await nodeResources(node)).toEqual({ total: { CPU: 2 }, available: { CPU: 1 } });
    expect((await client.getPlacementGroup(id)).state).toBe(State.REMOVED);
    // A lease for the removed group's bundle is infeasible, saying why.
    const late = await requestLease(node.driver, { bundle: { placementGroupId: id, index: 0 } });
    expect(late.infeasible).toBe(true);
    expect(late.failureMessage).toMatch(/bundle 0 of placement group/);
    await returnLease(node.driver, granted);
  });

  it('keeps a group PENDING while its CPUs are busy or missing, and creates it once they free up', async () => {
    const { client, nodes } = await cluster([2]);
    const node = nodes[0]!;
    const busy = await requestLease(node.driver, { resources: { CPU: 2 } });
    const waiting = createGroup(client, [{ CPU: 1 }]);
    const never = createGroup(client, [{ CPU: 3 }]);
    // CreatePlacementGroup answers after the GCS tried to place and reserve it.
    await waiting.created;
    await never.created;
    expect((await client.getPlacementGroup(waiting.id)).state).toBe(State.PENDING);
    expect((await client.getPlacementGroup(never.id)).state).toBe(State.PENDING);
    expect(cpus((await stats(node.driver)).total?.quantities)).toEqual({ CPU: 2 });

    await returnLease(node.driver, busy);
    expect(await client.waitPlacementGroupUntilReady(waiting.id, 15_000)).toBe(true);
    expect((await nodeResources(node)).available).toEqual({
      CPU: 1,
      [`CPU_group_0_${waiting.hex}`]: 1,
      [`CPU_group_${waiting.hex}`]: 1,
    });
    expect((await client.getPlacementGroup(never.id)).state).toBe(State.PENDING);
    await client.removePlacementGroup(never.id);
    await client.removePlacementGroup(waiting.id);
    expect(await nodeResources(node)).toEqual({ total: { CPU: 2 }, available: { CPU: 2 } });
  });

  it('cancels the bundles it prepared when another node cannot take its share', async () => {
    const { client, nodes } = await cluster([1, 1]);
    const [a, b] = nodes as [TestNode, TestNode];
    // One node is busy: STRICT_SPREAD needs both, so whichever was prepared is cancelled.
    const busy = await requestLease(b.driver, { resources: { CPU: 1 } });
    await waitFor(async () => (await client.getAllNodeInfo()).length === 2, {
      what: 'both nodes in the GCS',
    });
    const group = createGroup(client, [{ CPU: 1 }, { CPU: 1 }], tray.v1.PlacementStrategy.STRICT_SPREAD);
    await group.created;
    expect((await client.getPlacementGroup(group.id)).state).toBe(State.PENDING);
    expect(await nodeResources(a)).toEqual({ total: { CPU: 1 }, available: { CPU: 1 } });

    await returnLease(b.driver, busy);
    expect(await client.waitPlacementGroupUntilReady(group.id, 15_000)).toBe(true);
    for (const node of [a, b])
      expect((await nodeResources(node)).available[`CPU_group_${group.hex}`]).toBe(1);
  });
});
