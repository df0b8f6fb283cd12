// Ray's SPREAD strategy: place requests round-robin over the nodes that can run them now, so
// that consecutive requests land on different nodes; when none can, queue on the next feasible
// node in the same rotation (or wait locally when the local node is feasible).
import {
  infeasible,
  isAlive,
  type NodeView,
  type SchedulingDecision,
  type SchedulingPolicy,
  type SchedulingRequest,
} from '../policy.js';

export class SpreadPolicy implements SchedulingPolicy {
  readonly name = 'spread';
  private cursor = 0;

  pick(request: SchedulingRequest, nodes: readonly NodeView[], localNodeId: string): SchedulingDecision {
    const ordered = nodes.filter(isAlive).sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
    const feasible = ordered.filter((n) => request.resources.isSubsetOf(n.total));
    if (feasible.length === 0) return infeasible(request.resources, nodes);
    const available = feasible.filter((n) => request.resources.isSubsetOf(n.available));
    if (available.length === 0 && feasible.some((n) => n.nodeId === localNodeId)) return { kind: 'wait' };
    const pool = available.length > 0 ? available : feasible;
    const chosen = pool[this.cursor % pool.length]!;
    this.cursor = (this.cursor + 1) % 1_000_000_007;
    return { kind: 'node', nodeId: chosen.nodeId };
  }
}
