// Ray's default ("hybrid") policy: pack work onto nodes — the local one first — until they are
// half used, then spread it among the least used. Nodes whose critical utilization (after
// placing the request) is below `spreadThreshold` all score 0, so the local node wins ties;
// above it, the pick is random among the best `topKFraction` of the candidates.
import {
  criticalUtilization,
  infeasible,
  isAlive,
  type NodeView,
  type SchedulingDecision,
  type SchedulingPolicy,
  type SchedulingRequest,
} from '../policy.js';

export interface HybridOptions {
  /** Utilization under which nodes are packed (Ray: 0.5). */
  spreadThreshold?: number;
  /** Fraction of the best nodes to choose among at random (Ray: 0.2). */
  topKFraction?: number;
}

export class HybridPolicy implements SchedulingPolicy {
  readonly name = 'hybrid';
  private readonly threshold: number;
  private readonly topK: number;

  constructor(options: HybridOptions = {}) {
    this.threshold = options.spreadThreshold ?? 0.5;
    this.topK = options.topKFraction ?? 0.2;
  }

  /** When no node has the resources free now and the local node could never run the request,
   *  returns the least used feasible remote node for the request to queue at (spillback). */
  pick(
    request: SchedulingRequest,
    nodes: readonly NodeView[],
    localNodeId: string,
    random: () => number = Math.random,
  ): SchedulingDecision {
    const alive = nodes.filter(isAlive);
    const feasible = alive.filter((n) => request.resources.isSubsetOf(n.total));
    if (feasible.length === 0) return infeasible(request.resources, nodes);
    const score = (n: NodeView) => {
      const u = criticalUtilization(n, request.resources);
      return u < this.threshold ? 0 : u;
    };
    const available = feasible.filter((n) => request.resources.isSubsetOf(n.available));
    if (available.length === 0) {
      if (feasible.some((n) => n.nodeId === localNodeId)) return { kind: 'wait' };
      const best = feasible.reduce((a, b) => (score(b) < score(a) ? b : a));
      return { kind: 'node', nodeId: best.nodeId };
    }
    const ranked = available
      .map((n) => ({ n, s: score(n), local: n.nodeId === localNodeId }))
      .sort((a, b) => a.s - b.s || Number(b.local) - Number(a.local) || (a.n.nodeId < b.n.nodeId ? -1 : 1));
    const local = ranked.find((r) => r.local);
    if (local && local.s === ranked[0]!.s) return { kind: 'node', nodeId: local.n.nodeId };
    const k = Math.max(1, Math.ceil(alive.length * this.topK));
    const top = ranked.slice(0, Math.min(k, ranked.length));
    return { kind: 'node', nodeId: top[Math.floor(random() * top.length)]!.n.nodeId };
  }
}
