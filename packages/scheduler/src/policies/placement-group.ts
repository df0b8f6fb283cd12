// Placement-group bundles: a committed bundle shows up on its node as renamed resources —
// `CPU_group_<index>_<pg>` for the bundle and `CPU_group_<pg>` for the group as a whole (Ray's
// naming) — so a request for a bundle is the same request with its resources renamed, placed
// on a node that holds them. Bundles are reserved elsewhere (the GCS's two-phase commit).

import {
  isAlive,
  type NodeView,
  type SchedulingDecision,
  type SchedulingPolicy,
  type SchedulingRequest,
} from '../policy.js';
import { ResourceSet } from '../resource-set.js';

/** The name a resource takes inside a bundle (`bundleIndex` -1: any bundle of the group). */
export function bundleResourceName(resource: string, placementGroupId: string, bundleIndex: number): string {
  return bundleIndex < 0
    ? `${resource}_group_${placementGroupId}`
    : `${resource}_group_${bundleIndex}_${placementGroupId}`;
}

/** A request's resources renamed to draw from a bundle. */
export function bundleResources(
  resources: ResourceSet,
  placementGroupId: string,
  bundleIndex: number,
): ResourceSet {
  const record: Record<string, number> = {};
  for (const [name, q] of resources.entries())
    record[bundleResourceName(name, placementGroupId, bundleIndex)] = q;
  return ResourceSet.from(record);
}

export class PlacementGroupPolicy implements SchedulingPolicy {
  readonly name = 'placement_group';

  /** When every node holding the bundle is busy: wait if the local node holds it, otherwise
   *  returns a holder for the request to queue at (spillback: the bundle is only there). */
  pick(request: SchedulingRequest, nodes: readonly NodeView[], localNodeId: string): SchedulingDecision {
    const strategy = request.strategy;
    if (strategy.kind !== 'placement_group') {
      throw new TypeError(`the placement_group policy got a ${strategy.kind} request`);
    }
    const wanted = bundleResources(request.resources, strategy.placementGroupId, strategy.bundleIndex);
    const holders = nodes.filter((n) => isAlive(n) && wanted.isSubsetOf(n.total));
    if (holders.length === 0) {
      const bundle = strategy.bundleIndex < 0 ? 'any bundle' : `bundle ${strategy.bundleIndex}`;
      return {
        kind: 'infeasible',
        reason: `${bundle} of placement group ${strategy.placementGroupId} cannot provide ${request.resources} (the group is not ready, was removed, or its bundles are smaller than the request)`,
      };
    }
    const ready = holders.filter((n) => wanted.isSubsetOf(n.available));
    if (ready.length === 0) {
      if (holders.some((n) => n.nodeId === localNodeId)) return { kind: 'wait' };
      return { kind: 'node', nodeId: holders[0]!.nodeId };
    }
    const chosen = ready.find((n) => n.nodeId === localNodeId) ?? ready[0]!;
    return { kind: 'node', nodeId: chosen.nodeId };
  }
}
