// Policies by name, and the policy for a request's strategy. New policies register a factory;
// each caller gets its own instance (policies may keep state such as a round-robin cursor).

import { HybridPolicy } from './policies/hybrid.js';
import { NodeAffinityPolicy } from './policies/node-affinity.js';
import { PlacementGroupPolicy } from './policies/placement-group.js';
import { SpreadPolicy } from './policies/spread.js';
import type { SchedulingPolicy, SchedulingStrategy } from './policy.js';

const factories = new Map<string, () => SchedulingPolicy>([
  ['hybrid', () => new HybridPolicy()],
  ['spread', () => new SpreadPolicy()],
  ['node_affinity', () => new NodeAffinityPolicy()],
  ['placement_group', () => new PlacementGroupPolicy()],
]);

export function registerSchedulingPolicy(name: string, factory: () => SchedulingPolicy): void {
  if (factories.has(name)) throw new Error(`a scheduling policy named "${name}" is already registered`);
  factories.set(name, factory);
}

export function createSchedulingPolicy(name: string): SchedulingPolicy {
  const factory = factories.get(name);
  if (factory === undefined) {
    throw new Error(`unknown scheduling policy "${name}"; registered: ${[...factories.keys()].join(', ')}`);
  }
  return factory();
}

export function schedulingPolicyNames(): string[] {
  return [...factories.keys()];
}

/** Which registered policy serves a strategy. */
export function policyNameFor(strategy: SchedulingStrategy): string {
  return strategy.kind === 'default' ? 'hybrid' : strategy.kind;
}

/** One instance of each policy, dispatching on the request's strategy. */
export class StrategyScheduler {
  private readonly instances = new Map<string, SchedulingPolicy>();

  policyFor(strategy: SchedulingStrategy): SchedulingPolicy {
    const name = policyNameFor(strategy);
    let policy = this.instances.get(name);
    if (policy === undefined) {
      policy = createSchedulingPolicy(name);
      this.instances.set(name, policy);
    }
    return policy;
  }
}
