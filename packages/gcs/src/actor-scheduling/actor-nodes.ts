// Which nodes an actor's creation is asked of (raylet-actor-scheduler.ts leases from them in
// this order): the requested node, the owner's, then the freest, ranked by @tray/scheduler's
// policies over the alive nodes' resources; and the one case that can never be placed, hard
// node affinity to a node the GCS marked dead.
import { ErrorType, errorWithInfo, tray } from '@tray/protocol';
import {
  type NodeView,
  ResourceSet,
  rankActorNodes,
  type SchedulingStrategy,
  validateResourceName,
} from '@tray/scheduler';
import { bytesKey } from '../storage/storage.js';

/** Alive nodes, with what each has free now (ActorSchedulingContext.nodes). */
export type AliveNodes = { node: tray.v1.NodeInfo; available: Record<string, number> }[];

/**
 * As in Ray, an actor with hard node affinity (soft: false) to a node the GCS marked dead can
 * never be created: its creation fails (final, not a restart) naming the node. A node the table
 * does not know yet is waited for, as one that is alive but full.
 */
export function failIfPinnedToDeadNode(
  spec: tray.v1.ITaskSpec,
  nodeOf: ((nodeId: Uint8Array) => tray.v1.NodeInfo | undefined) | undefined,
): void {
  const affinity = spec.schedulingStrategy?.nodeAffinity;
  if (!affinity?.nodeId?.length || affinity.soft) return;
  const node = nodeOf?.(affinity.nodeId);
  if (node?.state !== tray.v1.NodeInfo.State.DEAD) return;
  throw errorWithInfo({
    type: ErrorType.ACTOR_DIED,
    message:
      `it must run on node ${bytesKey(affinity.nodeId)} (hard node affinity, soft: false), which is dead: ` +
      `${node.deathReason || 'the GCS marked it dead'}. Use soft: true to let it run elsewhere`,
  });
}

/** Nodes to try, best first: the requested one, the owner's, then the freest (@tray/scheduler). */
export function actorCandidates(spec: tray.v1.ITaskSpec, alive: AliveNodes): tray.v1.NodeInfo[] {
  const byKey = new Map(alive.map((n) => [bytesKey(n.node.nodeId), n.node]));
  const views: NodeView[] = alive.map((n) => ({
    nodeId: bytesKey(n.node.nodeId),
    total: knownResources(n.node.totalResources?.quantities ?? {}),
    available: knownResources(n.available),
  }));
  const ownerNode = spec.callerAddress?.nodeId ? bytesKey(spec.callerAddress.nodeId) : '';
  return rankActorNodes(actorStrategy(spec.schedulingStrategy), views, ownerNode).map(
    (key) => byKey.get(key)!,
  );
}

/** What the ranking needs of an actor's strategy: its node affinity, or SPREAD, or neither. */
function actorStrategy(strategy: tray.v1.ISchedulingStrategy | null | undefined): SchedulingStrategy {
  const affinity = strategy?.nodeAffinity;
  if (affinity?.nodeId && affinity.nodeId.length > 0) {
    return { kind: 'node_affinity', nodeId: bytesKey(affinity.nodeId), soft: Boolean(affinity.soft) };
  }
  return strategy?.spread ? { kind: 'spread' } : { kind: 'default' };
}

/** A node's resources as a ResourceSet: what is used up (≤ 0) or wrongly named is left out. */
function knownResources(record: Record<string, number>): ResourceSet {
  const known: Record<string, number> = {};
  for (const [name, quantity] of Object.entries(record)) {
    if (quantity > 0 && Number.isFinite(quantity) && isResourceName(name)) known[name] = quantity;
  }
  return ResourceSet.from(known);
}

function isResourceName(name: string): boolean {
  try {
    validateResourceName(name);
    return true;
  } catch {
    return false;
  }
}
