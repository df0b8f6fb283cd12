// Where a placement group's bundles go: a pure function from bundles, a strategy and the nodes'
// free capacity to one node per bundle, or the reason none fits. The placement-group manager
// calls it and acts on the answer. Capacity is the nodes' *total* resources less what other
// placement groups already hold; whether that is free right now is the raylets' answer to the
// reservation that follows (two-phase-reservation.ts).
//
// Strategies (Ray's):
// - STRICT_PACK: every bundle on one node.
// - PACK: on one node if possible, otherwise as few nodes as possible (best effort).
// - STRICT_SPREAD: every bundle on a different node.
// - SPREAD: on different nodes where possible, sharing nodes when there are too few.

import { tray } from '@tray/protocol';

export type Resources = Record<string, number>;

export interface NodeCapacity {
  /** The node's id as a table key (hex). */
  nodeKey: string;
  /** Resources not yet held by any placement group. */
  free: Resources;
}

export type Placement = { ok: true; nodeKeys: string[] } | { ok: false; reason: string };

const Strategy = tray.v1.PlacementStrategy;

function fits(need: Resources, free: Resources): boolean {
  return Object.entries(need).every(
    ([name, quantity]) => quantity <= 0 || (free[name] ?? 0) >= quantity - 1e-9,
  );
}

function subtract(free: Resources, need: Resources): Resources {
  const out = { ...free };
  for (const [name, quantity] of Object.entries(need)) out[name] = (out[name] ?? 0) - quantity;
  return out;
}

function sum(bundles: Resources[]): Resources {
  const out: Resources = {};
  for (const bundle of bundles) {
    for (const [name, quantity] of Object.entries(bundle)) out[name] = (out[name] ?? 0) + quantity;
  }
  return out;
}

function describe(resources: Resources): string {
  const parts = Object.entries(resources).map(([name, quantity]) => `${name}: ${quantity}`);
  return `{${parts.join(', ')}}`;
}

/** Places every bundle, or says why the strategy cannot be satisfied by these nodes. */
export function placeBundles(
  bundles: Resources[],
  strategy: tray.v1.PlacementStrategy,
  nodes: NodeCapacity[],
): Placement {
  if (bundles.length === 0) return { ok: false, reason: 'a placement group needs at least one bundle' };
  if (nodes.length === 0) return { ok: false, reason: 'no alive node' };
  switch (strategy) {
    case Strategy.STRICT_PACK:
      return (
        packOnOneNode(bundles, nodes) ?? noFit(bundles, 'STRICT_PACK', 'no single node fits all bundles')
      );
    case Strategy.PACK:
      return packOnOneNode(bundles, nodes) ?? greedy(bundles, nodes, 'PACK', 'pack');
    case Strategy.STRICT_SPREAD:
      return (
        distinctNodes(bundles, nodes) ??
        noFit(bundles, 'STRICT_SPREAD', 'not enough distinct nodes fit one bundle each')
      );
    case Strategy.SPREAD:
      return distinctNodes(bundles, nodes) ?? greedy(bundles, nodes, 'SPREAD', 'spread');
    default:
      return { ok: false, reason: `unknown placement strategy ${strategy}` };
  }
}

function noFit(bundles: Resources[], strategy: string, why: string): Placement {
  return {
    ok: false,
    reason: `${strategy} cannot place bundles ${bundles.map(describe).join(', ')}: ${why}`,
  };
}

function packOnOneNode(bundles: Resources[], nodes: NodeCapacity[]): Placement | undefined {
  const need = sum(bundles);
  const node = nodes.find((n) => fits(need, n.free));
  return node ? { ok: true, nodeKeys: bundles.map(() => node.nodeKey) } : undefined;
}

/** One bundle per node, by backtracking (bundle counts are small). */
function distinctNodes(bundles: Resources[], nodes: NodeCapacity[]): Placement | undefined {
  if (bundles.length > nodes.length) return undefined;
  const chosen: number[] = [];
  const used = new Set<number>();
  const search = (i: number): boolean => {
    if (i === bundles.length) return true;
    for (let n = 0; n < nodes.length; n++) {
      if (used.has(n) || !fits(bundles[i], nodes[n].free)) continue;
      used.add(n);
      chosen.push(n);
      if (search(i + 1)) return true;
      used.delete(n);
      chosen.pop();
    }
    return false;
  };
  return search(0) ? { ok: true, nodeKeys: chosen.map((n) => nodes[n].nodeKey) } : undefined;
}

/** Bundle by bundle: `pack` prefers nodes already used, `spread` the least used. */
function greedy(
  bundles: Resources[],
  nodes: NodeCapacity[],
  strategy: string,
  prefer: 'pack' | 'spread',
): Placement {
  const free = nodes.map((n) => ({ ...n.free }));
  const count = nodes.map(() => 0);
  const nodeKeys: string[] = [];
  for (const bundle of bundles) {
    let best = -1;
    for (let n = 0; n < nodes.length; n++) {
      if (!fits(bundle, free[n])) continue;
      if (best < 0) best = n;
      else if (prefer === 'pack' ? count[n] > count[best] : count[n] < count[best]) best = n;
    }
    if (best < 0) return noFit(bundles, strategy, `no node has ${describe(bundle)} free`);
    free[best] = subtract(free[best], bundle);
    count[best] += 1;
    nodeKeys.push(nodes[best].nodeKey);
  }
  return { ok: true, nodeKeys };
}
