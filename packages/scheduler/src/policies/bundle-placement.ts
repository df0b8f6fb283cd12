// Where a placement group's bundles go (the GCS asks, then reserves them on the raylets): a pure
// function from bundles, a strategy and each node's free capacity to one node per bundle, or the
// reason none fits. Capacity is what the caller says is free for bundles (the GCS: each node's
// total less what other groups hold); whether it is free right now is the raylets' answer to
// the reservation that follows.
//
// Strategies (Ray's):
// - STRICT_PACK: every bundle on one node.
// - PACK: on one node if possible, otherwise as few nodes as possible (best effort).
// - STRICT_SPREAD: every bundle on a different node.
// - SPREAD: on different nodes where possible, sharing nodes when there are too few.
import { ResourceSet } from '../resource-set.js';

export type BundleStrategy = 'STRICT_PACK' | 'PACK' | 'STRICT_SPREAD' | 'SPREAD';

export interface BundleNode {
  readonly nodeId: string;
  /** Resources free for bundles on this node. */
  readonly free: ResourceSet;
}

export type BundlePlacement =
  | { readonly kind: 'placed'; readonly nodeIds: string[] }
  | { readonly kind: 'infeasible'; readonly reason: string };

/** `{CPU: 2, GPU: 1}`, in the bundle's own order: how placement failures name resources. */
function describe(resources: ResourceSet): string {
  const parts = [...resources.entries()].map(([name, quantity]) => `${name}: ${quantity}`);
  return `{${parts.join(', ')}}`;
}

/** Places every bundle, or says why the strategy cannot be satisfied by these nodes. */
export function placeBundles(
  bundles: readonly ResourceSet[],
  strategy: BundleStrategy,
  nodes: readonly BundleNode[],
): BundlePlacement {
  if (bundles.length === 0) return infeasible('a placement group needs at least one bundle');
  if (nodes.length === 0) return infeasible('no alive node');
  switch (strategy) {
    case 'STRICT_PACK':
      return packOnOneNode(bundles, nodes) ?? noFit(bundles, strategy, 'no single node fits all bundles');
    case 'PACK':
      return packOnOneNode(bundles, nodes) ?? greedy(bundles, nodes, strategy, 'pack');
    case 'STRICT_SPREAD':
      return (
        distinctNodes(bundles, nodes) ??
        noFit(bundles, strategy, 'not enough distinct nodes fit one bundle each')
      );
    case 'SPREAD':
      return distinctNodes(bundles, nodes) ?? greedy(bundles, nodes, strategy, 'spread');
    default:
      return infeasible(`unknown placement strategy ${String(strategy)}`);
  }
}

function infeasible(reason: string): BundlePlacement {
  return { kind: 'infeasible', reason };
}

function noFit(bundles: readonly ResourceSet[], strategy: string, why: string): BundlePlacement {
  return infeasible(`${strategy} cannot place bundles ${bundles.map(describe).join(', ')}: ${why}`);
}

function packOnOneNode(
  bundles: readonly ResourceSet[],
  nodes: readonly BundleNode[],
): BundlePlacement | undefined {
  const need = bundles.reduce((sum, bundle) => sum.add(bundle), ResourceSet.EMPTY);
  const node = nodes.find((n) => need.isSubsetOf(n.free));
  return node ? { kind: 'placed', nodeIds: bundles.map(() => node.nodeId) } : undefined;
}

/** One bundle per node, by backtracking (bundle counts are small). */
function distinctNodes(
  bundles: readonly ResourceSet[],
  nodes: readonly BundleNode[],
): BundlePlacement | undefined {
  if (bundles.length > nodes.length) return undefined;
  const chosen: number[] = [];
  const used = new Set<number>();
  const search = (i: number): boolean => {
    if (i === bundles.length) return true;
    for (let n = 0; n < nodes.length; n++) {
      if (used.has(n) || !bundles[i].isSubsetOf(nodes[n].free)) continue;
      used.add(n);
      chosen.push(n);
      if (search(i + 1)) return true;
      used.delete(n);
      chosen.pop();
    }
    return false;
  };
  return search(0) ? { kind: 'placed', nodeIds: chosen.map((n) => nodes[n].nodeId) } : undefined;
}

/** Bundle by bundle: `pack` prefers nodes already used, `spread` the least used. */
function greedy(
  bundles: readonly ResourceSet[],
  nodes: readonly BundleNode[],
  strategy: string,
  prefer: 'pack' | 'spread',
): BundlePlacement {
  const free = nodes.map((n) => n.free);
  const count = nodes.map(() => 0);
  const nodeIds: string[] = [];
  for (const bundle of bundles) {
    let best = -1;
    for (let n = 0; n < nodes.length; n++) {
      if (!bundle.isSubsetOf(free[n])) continue;
      if (best < 0) best = n;
      else if (prefer === 'pack' ? count[n] > count[best] : count[n] < count[best]) best = n;
    }
    if (best < 0) return noFit(bundles, strategy, `no node has ${describe(bundle)} free`);
    free[best] = free[best].subtract(bundle);
    count[best] += 1;
    nodeIds.push(nodes[best].nodeId);
  }
  return { kind: 'placed', nodeIds };
}
