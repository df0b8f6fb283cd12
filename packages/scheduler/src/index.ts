// @tray/scheduler: resource arithmetic and scheduling policies, with no I/O. The raylet uses
// it for its node's accounting and lease decisions; the GCS for placing actors and bundles.
export { NodeResources, type NodeResourcesOptions, type ResourceGrant } from './node-resources.js';
export { rankActorNodes } from './policies/actor-placement.js';
export {
  type BundleNode,
  type BundlePlacement,
  type BundleStrategy,
  placeBundles,
} from './policies/bundle-placement.js';
export { type HybridOptions, HybridPolicy } from './policies/hybrid.js';
export { NodeAffinityPolicy } from './policies/node-affinity.js';
export { bundleResourceName, bundleResources, PlacementGroupPolicy } from './policies/placement-group.js';
export { SpreadPolicy } from './policies/spread.js';
export {
  criticalUtilization,
  infeasible,
  type NodeView,
  type SchedulingDecision,
  type SchedulingPolicy,
  type SchedulingRequest,
  type SchedulingStrategy,
} from './policy.js';
export {
  createSchedulingPolicy,
  policyNameFor,
  registerSchedulingPolicy,
  StrategyScheduler,
  schedulingPolicyNames,
} from './registry.js';
export {
  InvalidResourceError,
  normalizeQuantity,
  type ResourceInput,
  ResourceSet,
  validateQuantity,
  validateResourceName,
} from './resource-set.js';
