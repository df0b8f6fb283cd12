// The contract every scheduling policy implements, and the views of the cluster it decides on.
// A policy only chooses; the raylet (or GCS) that called it acts on the decision.
import type { ResourceSet } from './resource-set.js';

/** Where a request wants to run (mirrors common.proto's SchedulingStrategy). */
export type SchedulingStrategy =
  | { readonly kind: 'default' }
  | { readonly kind: 'spread' }
  | { readonly kind: 'node_affinity'; readonly nodeId: string; readonly soft: boolean }
  | {
      readonly kind: 'placement_group';
      readonly placementGroupId: string;
      /** -1: any bundle of the group. */
      readonly bundleIndex: number;
    };

export interface SchedulingRequest {
  readonly resources: ResourceSet;
  readonly strategy: SchedulingStrategy;
}

/** What a policy knows of one node. */
export interface NodeView {
  readonly nodeId: string;
  readonly total: ResourceSet;
  readonly available: ResourceSet;
  /** Dead or draining nodes are never chosen (default true). */
  readonly alive?: boolean;
}

export type SchedulingDecision =
  | { readonly kind: 'node'; readonly nodeId: string }
  /** Nothing can run it now, but some node could later: keep it queued where it is. */
  | { readonly kind: 'wait' }
  /** No node could ever run it; `reason` names what is missing. */
  | { readonly kind: 'infeasible'; readonly reason: string };

/**
 * A scheduling policy picks the node for one request.
 *
 * Contract:
 * - `pick` is pure with respect to `nodes` (it never changes them) and does no I/O; a policy may
 *   keep private state between calls (e.g. a round-robin cursor).
 * - It returns `{kind:'node'}` only for a node present in `nodes`, alive, and whose `available`
 *   covers the request — except when it returns the best *feasible* remote node for the request
 *   to queue at, which a policy must document.
 * - It returns `{kind:'wait'}` when some alive node's `total` covers the request (the request
 *   will fit once resources are released), and `{kind:'infeasible'}` with a reason naming the
 *   missing resources when none does.
 * - `localNodeId` is the node asking; policies prefer it when all else is equal.
 * - `random` (default Math.random) is the only source of randomness, so tests can fix it.
 */
export interface SchedulingPolicy {
  readonly name: string;
  pick(
    request: SchedulingRequest,
    nodes: readonly NodeView[],
    localNodeId: string,
    random?: () => number,
  ): SchedulingDecision;
}

export function isAlive(node: NodeView): boolean {
  return node.alive !== false;
}

/** The infeasible decision with the message users see. */
export function infeasible(request: ResourceSet, nodes: readonly NodeView[]): SchedulingDecision {
  let cluster: ResourceSet | undefined;
  for (const node of nodes) if (isAlive(node)) cluster = cluster ? cluster.add(node.total) : node.total;
  const missing = cluster ? request.missingFrom(cluster) : request;
  const what = missing.isEmpty ? request : missing;
  return {
    kind: 'infeasible',
    reason: `no node has ${what}; this cluster has ${cluster ?? '{}'}`,
  };
}

/** Utilization of a node's most used resource once `request` is placed there (0..1). */
export function criticalUtilization(node: NodeView, request: ResourceSet): number {
  let worst = 0;
  for (const [name, total] of node.total.entries()) {
    if (total <= 0) continue;
    const used = total - node.available.get(name) + request.get(name);
    worst = Math.max(worst, used / total);
  }
  return worst;
}
