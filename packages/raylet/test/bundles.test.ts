// The raylet's side of placement-group reservation, driven directly over gRPC as the GCS does:
// prepare takes resources, commit makes the renamed ones, cancel gives everything back, every
// step is idempotent, and bad requests are refused with INVALID_ARGUMENT while the raylet keeps
// serving.
import { randomBytes } from 'node:crypto';
import {
  createGrpcClient,
  ErrorType,
  NodeManagerService,
  type TrayGrpcClient,
  type tray,
} from '@tray/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { requestLease, startNode, stats, type TestNode, TOKEN } from './harness.js';

let node: TestNode | undefined;
let client: TrayGrpcClient | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await node?.stop();
  node = undefined;
});

async function start(numCpus = 2) {
  node = await startNode({ numCpus, prestartWorkers: 1 });
  client = createGrpcClient(`127.0.0.1:${node.raylet.grpcPort}`, { token: TOKEN, retries: 0 });
  return { node, client };
}

function bundle(pg: Buffer, index: number, resources: Record<string, number> = { CPU: 1 }) {
  return { placementGroupId: pg, bundleIndex: index, resources: { quantities: resources } };
}

/** The node's CPU and placement-group resources (memory is left out: it is the machine's). */
async function resources(n: TestNode) {
  const s = await stats(n.driver);
  const cpus = (q: Record<string, number> | null | undefined) =>
    Object.fromEntries(Object.entries(q ?? {}).filter(([name]) => name.startsWith('CPU')));
  return { total: cpus(s.total?.quantities), available: cpus(s.available?.quantities) };
}

describe('bundle reservation on the raylet', () => {
  it('prepares, commits and cancels bundles, idempotently', async () => {
    const { node, client } = await start();
    const pg = randomBytes(18);
    const hex = pg.toString('hex');
    const prepare = (bundles: tray.v1.BundleSpec.$Properties[]) =>
      client.call(NodeManagerService.PrepareBundleResources, { bundles });

    expect((await prepare([bundle(pg, 0)])).success).toBe(true);
    expect((await prepare([bundle(pg, 0)])).success).toBe(true); // a retried prepare takes nothing more
    expect((await resources(node)).available).toEqual({ CPU: 1 });
    // Bundle 1 needs 2 CPUs, only 1 is free: nothing of this request is taken.
    expect((await prepare([bundle(pg, 1), bundle(pg, 2, { CPU: 2 })])).success).toBe(false);
    expect((await resources(node)).available).toEqual({ CPU: 1 });
    // A node that could never hold it answers false too.
    expect((await prepare([bundle(randomBytes(18), 0, { GPU: 1 })])).success).toBe(false);

    await client.call(NodeManagerService.CommitBundleResources, { bundles: [bundle(pg, 0)] });
    await client.call(NodeManagerService.CommitBundleResources, { bundles: [bundle(pg, 0)] });
    const committed = await resources(node);
    expect(committed.total).toEqual({ CPU: 2, [`CPU_group_0_${hex}`]: 1, [`CPU_group_${hex}`]: 1 });
    expect(committed.available).toEqual({ CPU: 1, [`CPU_group_0_${hex}`]: 1, [`CPU_group_${hex}`]: 1 });

    await client.call(NodeManagerService.CancelResourceReserve, { bundle: bundle(pg, 0) });
    await client.call(NodeManagerService.CancelResourceReserve, { bundle: bundle(pg, 0) });
    expect(await resources(node)).toEqual({ total: { CPU: 2 }, available: { CPU: 2 } });
    // A prepared, never committed bundle is cancelled the same way.
    expect((await prepare([bundle(pg, 3)])).success).toBe(true);
    await client.call(NodeManagerService.CancelResourceReserve, { bundle: bundle(pg, 3) });
    expect((await resources(node)).available).toEqual({ CPU: 2 });
    // A bundle in use by a lease is not free for a prepare.
    const lease = await requestLease(node.driver, { resources: { CPU: 2 } });
    expect((await prepare([bundle(pg, 4)])).success).toBe(false);
    await node.driver.request(NodeManagerService.ReturnWorkerLease, { leaseId: lease.leaseId });
  });

  it('refuses bad requests with INVALID_ARGUMENT naming the field, and keeps serving', async () => {
    const { node, client } = await start();
    const pg = randomBytes(18);
    const refused = async (method: any, request: object, message: RegExp) => {
      const err = await client.call(method, request).then(
        () => undefined,
        (e) => e,
      );
      expect(err, `expected ${message} to be refused`).toBeDefined();
      expect(err.type).toBe(ErrorType.INVALID_ARGUMENT);
      expect(err.message).toMatch(message);
    };
    const Prepare = NodeManagerService.PrepareBundleResources;
    await refused(Prepare, { bundles: [] }, /bundles must list at least one/);
    await refused(
      Prepare,
      { bundles: [bundle(randomBytes(5), 0)] },
      /placement_group_id must be 18 bytes, got 5/,
    );
    await refused(
      Prepare,
      { bundles: [bundle(pg, -1)] },
      /bundles\[0\]\.bundle_index must be a whole number/,
    );
    await refused(Prepare, { bundles: [bundle(pg, 0, {})] }, /resources must ask for at least one resource/);
    await refused(Prepare, { bundles: [bundle(pg, 0, { CPU: -1 })] }, /quantity -1/);
    await refused(Prepare, { bundles: [bundle(pg, 0, { 'no spaces': 1 })] }, /name "no spaces" is invalid/);
    await refused(Prepare, { bundles: [bundle(pg, 0, { CPU_group_0_ab: 1 })] }, /placement-group resource/);
    await refused(
      Prepare,
      { bundles: [bundle(pg, 0, { [`R${'x'.repeat(120)}`]: 1 })] },
      /too long to be renamed/,
    );
    await refused(Prepare, { bundles: [bundle(pg, 0), bundle(pg, 0)] }, /bundles\[1\] repeats bundle 0/);
    await refused(
      Prepare,
      { bundles: [{ ...bundle(pg, 0), nodeId: randomBytes(28) }] },
      /node_id is [0-9a-f]+ but this raylet is node/,
    );
    await refused(
      NodeManagerService.CommitBundleResources,
      { bundles: [bundle(pg, 0)] },
      /was not prepared on this node/,
    );
    await refused(NodeManagerService.CancelResourceReserve, {}, /bundle is required/);
    await refused(
      NodeManagerService.CancelResourceReserve,
      { bundle: { placementGroupId: pg, bundleIndex: -2 } },
      /bundle\.bundle_index must be a whole number/,
    );
    // Reserved with other resources: a second prepare of the same bundle must match.
    const ok = await client.call(Prepare, {
      bundles: [{ ...bundle(pg, 0), nodeId: Buffer.from(node.raylet.nodeId, 'hex') }],
    });
    expect(ok.success).toBe(true);
    await refused(
      Prepare,
      { bundles: [bundle(pg, 0, { CPU: 2 })] },
      /already reserved here with \{"CPU": 1\}/,
    );

    // Nothing was taken by the refused requests, and the raylet still serves.
    expect((await resources(node)).available).toEqual({ CPU: 1 });
    await client.call(NodeManagerService.CancelResourceReserve, { bundle: bundle(pg, 0) });
    expect((await resources(node)).available).toEqual({ CPU: 2 });
  });
});
