// Reserving a placed group on the raylets (Ray's two-phase commit): prepare every bundle on its
// node, then commit them all; when any prepare fails or a node cannot be reached, the bundles
// already prepared are cancelled and the group stays unreserved. Releasing cancels each
// bundle on its node; a node that cannot be reached is reported, not retried (a dead node's
// reservations died with it).
import { tray } from '@tray/protocol';
import { bytesKey } from '../storage/storage.js';
import type { BundleReserver, BundleSpec } from './bundle-reserver.js';
import type { NodeManager } from './node-manager.js';

export type Reservation = { ok: true } | { ok: false; reason: string };

/** The group's bundles, grouped by the node (hex key) each was placed on. */
function byNode(bundles: readonly BundleSpec[]): Map<string, BundleSpec[]> {
  const out = new Map<string, BundleSpec[]>();
  for (const bundle of bundles) {
    const key = bytesKey(bundle.nodeId);
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(bundle);
  }
  return out;
}

function describe(bundles: readonly BundleSpec[]): string {
  return bundles
    .map((b) => `bundle ${b.bundleIndex} ${JSON.stringify(b.resources?.quantities ?? {})}`)
    .join(', ');
}

export class TwoPhaseReservation {
  constructor(
    private readonly nodes: NodeManager,
    private readonly reserver: () => BundleReserver,
    private readonly log: (message: string) => void,
  ) {}

  /**
   * Prepare then commit every bundle (each names its node); all or nothing. `stillWanted` is
   * asked before committing: a group removed meanwhile is not committed.
   */
  async reserve(bundles: readonly BundleSpec[], stillWanted: () => boolean): Promise<Reservation> {
    const reserver = this.reserver();
    const groups = byNode(bundles);
    const prepared: BundleSpec[] = [];
    let failure: string | undefined;
    for (const [nodeKey, list] of groups) {
      const node = this.nodes.get(Buffer.from(nodeKey, 'hex'));
      if (!node || node.state !== tray.v1.NodeInfo.State.ALIVE) {
        failure = `node ${nodeKey} is gone`;
        break;
      }
      try {
        if (await reserver.prepare(node, list)) {
          prepared.push(...list);
          continue;
        }
        failure = `${describe(list)} not free on node ${nodeKey} yet (held by running tasks, actors or other groups)`;
      } catch (err) {
        failure = `node ${nodeKey} did not prepare ${describe(list)}: ${(err as Error).message}`;
      }
      break;
    }
    if (failure === undefined && !stillWanted())
      failure = 'the group was removed while it was being reserved';
    if (failure === undefined) {
      try {
        for (const [nodeKey, list] of groups) {
          await reserver.commit(this.nodes.get(Buffer.from(nodeKey, 'hex'))!, list);
        }
        return { ok: true };
      } catch (err) {
        failure = `committing the bundles failed: ${(err as Error).message}`;
        prepared.splice(0, prepared.length, ...bundles);
      }
    }
    await this.release(prepared);
    return { ok: false, reason: failure };
  }

  /** Cancel every bundle on its node (those with no node are skipped). */
  async release(bundles: readonly BundleSpec[]): Promise<void> {
    const reserver = this.reserver();
    for (const bundle of bundles) {
      const node = bundle.nodeId && bundle.nodeId.length > 0 ? this.nodes.get(bundle.nodeId) : undefined;
      if (!node || node.state !== tray.v1.NodeInfo.State.ALIVE) continue;
      try {
        await reserver.cancel(node, bundle);
      } catch (err) {
        this.log(
          `could not cancel bundle ${bundle.bundleIndex} of placement group ${bytesKey(bundle.placementGroupId)} on node ${bytesKey(bundle.nodeId)}: ${(err as Error).message}`,
        );
      }
    }
  }
}
