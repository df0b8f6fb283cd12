// Where a lease request goes: queued on this node, sent on to another node (spillback: the
// reply's `retry_at_raylet_address`), or answered infeasible. Decided once, when the request
// arrives. Rules:
// - A request another raylet forwarded here (`grant_or_reject`; also every request over gRPC:
//   the GCS chose this node) is never sent on again: it queues here if this node could ever
//   run it, otherwise it is infeasible.
// - A default-strategy request that fits this node's free resources now stays here (the view
//   of other nodes is up to a heartbeat old; packing locally until full costs no round trip).
// - Otherwise the request's scheduling policy chooses among this node (live resources) and the
//   other alive nodes (as the GCS last reported them). "Wait" queues here when this node could
//   run it later, else at a node that could; "infeasible" is only when no alive node has it.
import type { NodeResources, SchedulingPolicy } from '@tray/scheduler';
import type { RemoteNode } from './cluster-view.js';
import type { LeaseRequest } from './lease-request.js';

export type Placement =
  | { readonly kind: 'local' }
  | { readonly kind: 'spill'; readonly node: RemoteNode }
  | { readonly kind: 'infeasible'; readonly reason: string };

export interface LocalNode {
  readonly nodeId: string;
  readonly resources: NodeResources;
}

/** Throws InvalidResourceError for resources no node could hold (the caller words it). */
export function placeLease(
  request: LeaseRequest,
  local: LocalNode,
  remotes: readonly RemoteNode[],
  policy: SchedulingPolicy,
): Placement {
  const { resources } = local;
  const needed = request.schedule.add(request.hold.missingFrom(request.schedule));
  const localFeasible = resources.isFeasible(needed) && resources.isFeasible(request.hold);
  const missingHere = () => needed.missingFrom(resources.total);
  if (request.forwarded) {
    if (localFeasible) return { kind: 'local' };
    return {
      kind: 'infeasible',
      reason: `this node has no ${missingHere()} (it has ${resources.total}); a request sent here to be granted or rejected (grant_or_reject) is not sent on`,
    };
  }
  if (
    localFeasible &&
    request.strategy.kind === 'default' &&
    resources.isAvailable(request.schedule) &&
    resources.isAvailable(request.hold)
  ) {
    return { kind: 'local' };
  }
  const here = { nodeId: local.nodeId, total: resources.total, available: resources.available };
  const decision = policy.pick(
    { resources: request.asked, strategy: request.strategy },
    [here, ...remotes],
    local.nodeId,
  );
  if (decision.kind === 'infeasible') return decision;
  if (decision.kind === 'node' && decision.nodeId !== local.nodeId) {
    const node = remotes.find((n) => n.nodeId === decision.nodeId);
    if (node !== undefined) return { kind: 'spill', node };
  }
  if (localFeasible) return { kind: 'local' };
  // The policy would wait (or chose this node) but this node can never run it: queue it at a
  // node that can.
  const elsewhere = remotes.find((n) => needed.isSubsetOf(n.total) && request.hold.isSubsetOf(n.total));
  if (elsewhere !== undefined) return { kind: 'spill', node: elsewhere };
  return {
    kind: 'infeasible',
    reason: `no node has ${missingHere()}; this node has ${resources.total}`,
  };
}
