// Ray's NodeAffinitySchedulingStrategy: run on one named node. Hard affinity waits for that
// node and is infeasible if it is gone or could never run the request; soft affinity prefers
// the node while it can run the request now, and otherwise falls back to the hybrid policy.
import type { NodeView, SchedulingDecision, SchedulingPolicy, SchedulingRequest } from '../policy.js';
import { HybridPolicy } from './hybrid.js';

export class NodeAffinityPolicy implements SchedulingPolicy {
  readonly name = 'node_affinity';
  private readonly fallback = new HybridPolicy();

  pick(
    request: SchedulingRequest,
    nodes: readonly NodeView[],
    localNodeId: string,
    random?: () => number,
  ): SchedulingDecision {
    const strategy = request.strategy;
    if (strategy.kind !== 'node_affinity') {
      throw new TypeError(`the node_affinity policy got a ${strategy.kind} request`);
    }
    const target = nodes.find((n) => n.nodeId === strategy.nodeId && n.alive !== false);
    const fits = target !== undefined && request.resources.isSubsetOf(target.total);
    if (!strategy.soft) {
      if (target === undefined) {
        return { kind: 'infeasible', reason: `node ${strategy.nodeId} (hard node affinity) is not alive` };
      }
      if (!fits) {
        return {
          kind: 'infeasible',
          reason: `node ${strategy.nodeId} (hard node affinity) can never provide ${request.resources.missingFrom(target.total)}; it has ${target.total}`,
        };
      }
      if (request.resources.isSubsetOf(target.available)) return { kind: 'node', nodeId: target.nodeId };
      return target.nodeId === localNodeId ? { kind: 'wait' } : { kind: 'node', nodeId: target.nodeId };
    }
    if (fits && request.resources.isSubsetOf(target.available))
      return { kind: 'node', nodeId: target.nodeId };
    return this.fallback.pick(request, nodes, localNodeId, random);
  }
}
