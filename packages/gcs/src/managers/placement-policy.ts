// Where a placement group's bundles go, in the GCS's terms: bundles and node capacities as
// resource records, the strategy as common.proto's enum, nodes by their table key. The placing
// itself is @tray/scheduler's placeBundles (with ResourceSet arithmetic); this only translates.
// The placement-group manager calls it and reserves the answer (two-phase-reservation.ts).
// Capacity is the nodes' *total* resources less what other placement groups already hold.
import { tray } from '@tray/protocol';
import {
  type BundleStrategy,
  InvalidResourceError,
  placeBundles as place,
  ResourceSet,
} from '@tray/scheduler';

export type Resources = Record<string, number>;

export interface NodeCapacity {
  /** The node's id as a table key (hex). */
  nodeKey: string;
  /** Resources not yet held by any placement group. */
  free: Resources;
}

export type Placement = { ok: true; nodeKeys: string[] } | { ok: false; reason: string };

const STRATEGIES = new Map<number, BundleStrategy>([
  [tray.v1.PlacementStrategy.PACK, 'PACK'],
  [tray.v1.PlacementStrategy.SPREAD, 'SPREAD'],
  [tray.v1.PlacementStrategy.STRICT_PACK, 'STRICT_PACK'],
  [tray.v1.PlacementStrategy.STRICT_SPREAD, 'STRICT_SPREAD'],
]);

/** A record as a ResourceSet; what is used up or overdrawn (≤ 0) is simply not there. */
function resourceSet(resources: Resources): ResourceSet {
  const positive: Resources = {};
  for (const [name, quantity] of Object.entries(resources)) if (quantity > 0) positive[name] = quantity;
  return ResourceSet.from(positive, 'bundle resource');
}

/** Places every bundle, or says why the strategy cannot be satisfied by these nodes. */
export function placeBundles(
  bundles: Resources[],
  strategy: tray.v1.PlacementStrategy,
  nodes: NodeCapacity[],
): Placement {
  // An unknown number goes through as is: placeBundles names it.
  const named = STRATEGIES.get(strategy) ?? (String(strategy) as BundleStrategy);
  try {
    const placement = place(
      bundles.map(resourceSet),
      named,
      nodes.map((n) => ({ nodeId: n.nodeKey, free: resourceSet(n.free) })),
    );
    return placement.kind === 'placed'
      ? { ok: true, nodeKeys: placement.nodeIds }
      : { ok: false, reason: placement.reason };
  } catch (err) {
    if (err instanceof InvalidResourceError) return { ok: false, reason: err.message };
    throw err;
  }
}
