// The placement-group manager's two-phase reservation, against a reserver that records what it
// was asked and refuses when told to (the raylet side is tested with real raylets in
// @tray/raylet's placement-groups test): only committed groups are CREATED, a refused prepare
// cancels what was prepared and leaves the group PENDING until a retry succeeds, and removal
// cancels every bundle on its node, even one removed while it was being reserved.
import { tray } from '@tray/protocol';
import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { GcsManagers } from '../gcs-managers.js';
import { MemoryStorage } from '../storage/memory-storage.js';
import type { BundleReserver, BundleSpec } from './bundle-reserver.js';

const State = tray.v1.PlacementGroupTableData.State;
const id = (length: number, fill: number) => new Uint8Array(length).fill(fill);
const hex = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('hex');

const open: GcsManagers[] = [];
afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

class RecordingReserver implements BundleReserver {
  readonly calls: string[] = [];
  /** Nodes (fill byte) whose prepare answers false. */
  readonly refuse = new Set<number>();
  gate: Promise<void> = Promise.resolve();
  /** Prepares that have started (they wait for `gate` before answering). */
  started = 0;

  private say(step: string, node: tray.v1.NodeInfo, bundles: BundleSpec[]) {
    this.calls.push(`${step} node${node.nodeId[0]} [${bundles.map((b) => b.bundleIndex).join(',')}]`);
  }
  async prepare(node: tray.v1.NodeInfo, bundles: BundleSpec[]) {
    this.started += 1;
    await this.gate;
    this.say('prepare', node, bundles);
    return !this.refuse.has(node.nodeId[0]!);
  }
  async commit(node: tray.v1.NodeInfo, bundles: BundleSpec[]) {
    this.say('commit', node, bundles);
  }
  async cancel(node: tray.v1.NodeInfo, bundle: BundleSpec) {
    this.say('cancel', node, [bundle]);
  }
  close() {}
}

async function setup(nodeCount: number) {
  const m = new GcsManagers(new MemoryStorage(), {
    healthCheck: { periodMs: 60_000, timeoutMs: 1000, failureThreshold: 5 },
    log: () => {},
  });
  open.push(m);
  const reserver = new RecordingReserver();
  m.placementGroups.setReserver(reserver);
  for (let n = 1; n <= nodeCount; n++) {
    await m.nodes.register(
      tray.v1.RegisterNodeRequest.create({
        node: { nodeId: id(28, n), nodeIp: 'h', totalResources: { quantities: { CPU: 1 } } },
      }),
    );
  }
  return { m, reserver };
}

function create(m: GcsManagers, pg: Uint8Array) {
  return m.placementGroups.create(
    tray.v1.CreatePlacementGroupRequest.create({
      placementGroup: {
        placementGroupId: pg,
        strategy: tray.v1.PlacementStrategy.STRICT_SPREAD,
        bundles: [{ resources: { quantities: { CPU: 1 } } }, { resources: { quantities: { CPU: 1 } } }],
      },
    }),
  );
}

const stateOf = (m: GcsManagers, pg: Uint8Array) =>
  m.placementGroups.get(tray.v1.GetPlacementGroupRequest.create({ placementGroupId: pg })).state;

describe('placement-group reservation', () => {
  it('cancels prepared bundles when a node refuses, retries, and is CREATED only once committed', async () => {
    const { m, reserver } = await setup(2);
    reserver.refuse.add(2);
    const pg = id(18, 7);
    await create(m, pg);
    expect(stateOf(m, pg)).toBe(State.PENDING);
    expect(reserver.calls).toEqual(['prepare node1 [0]', 'prepare node2 [1]', 'cancel node1 [0]']);
    expect(m.placementGroups.pendingReasons.get(hex(pg))).toMatch(/not free on node 0202/);

    reserver.refuse.clear();
    const ready = await m.placementGroups.waitUntilReady(
      tray.v1.WaitPlacementGroupUntilReadyRequest.create({ placementGroupId: pg }),
    );
    expect(ready).toBe(true);
    expect(reserver.calls.slice(3)).toEqual([
      'prepare node1 [0]',
      'prepare node2 [1]',
      'commit node1 [0]',
      'commit node2 [1]',
    ]);
    reserver.calls.length = 0;
    await m.placementGroups.remove(tray.v1.RemovePlacementGroupRequest.create({ placementGroupId: pg }));
    expect(reserver.calls).toEqual(['cancel node1 [0]', 'cancel node2 [1]']);
  });

  it('gives back the bundles of a group removed while it was being reserved', async () => {
    const { m, reserver } = await setup(2);
    let open!: () => void;
    reserver.gate = new Promise((resolve) => (open = resolve));
    const pg = id(18, 8);
    const creating = create(m, pg);
    await waitFor(() => reserver.started === 1, { what: 'the first prepare' });
    await m.placementGroups.remove(tray.v1.RemovePlacementGroupRequest.create({ placementGroupId: pg }));
    open();
    await creating;
    await waitFor(() => reserver.calls.length === 4, { what: 'the bundles to be cancelled' });
    expect(reserver.calls).toEqual([
      'prepare node1 [0]',
      'prepare node2 [1]',
      'cancel node1 [0]',
      'cancel node2 [1]',
    ]);
    expect(stateOf(m, pg)).toBe(State.REMOVED);
  });
});
