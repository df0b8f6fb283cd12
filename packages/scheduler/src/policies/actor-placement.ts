// Which nodes the GCS asks for an actor's worker, best first: it asks their raylets in turn
// until one grants the lease (each raylet still decides for itself whether it can). Rules:
// node affinity to an alive node asks only that node; hard affinity to a node that is not alive
// asks none; otherwise (soft affinity, default, placement group) the owner's node comes first,
// then the nodes with the most CPU available — SPREAD skips the owner preference. Pure, no I/O.
import { isAlive, type NodeView, type SchedulingStrategy } from '../policy.js';

export function rankActorNodes(
  strategy: SchedulingStrategy,
  nodes: readonly NodeView[],
  ownerNodeId: string,
): string[] {
  const alive = nodes.filter(isAlive);
  if (strategy.kind === 'node_affinity') {
    const wanted = alive.find((n) => n.nodeId === strategy.nodeId);
    if (wanted) return [wanted.nodeId];
    if (!strategy.soft) return [];
  }
  const spread = strategy.kind === 'spread';
  const cpu = (n: NodeView) => n.available.get('CPU');
  return alive
    .sort((a, b) => {
      if (!spread) {
        const ao = a.nodeId === ownerNodeId ? 1 : 0;
        const bo = b.nodeId === ownerNodeId ? 1 : 0;
        if (ao !== bo) return bo - ao;
      }
      return cpu(b) - cpu(a);
    })
    .map((n) => n.nodeId);
}
