// A placement-group BundleSpec from the wire (PrepareBundleResources, CommitBundleResources,
// CancelResourceReserve), checked before the raylet reserves anything: an 18-byte group id, a
// bundle index, resources with valid names and quantities whose renamed forms
// (`CPU_group_<index>_<pg>`, `CPU_group_<pg>`) are valid names too, and a node id that is
// empty or this node's. A bad field is an INVALID_ARGUMENT naming it.
import { checkId, IdBytes, invalidArgument, type tray } from '@tray/protocol';
import { bundleResources, InvalidResourceError, type ResourceSet } from '@tray/scheduler';
import { toResourceSet } from '../request-validation.js';

export const PLACEMENT_GROUP_ID_BYTES = IdBytes.placementGroup;
/** More bundles than this in one group is surely a mistake (Ray groups have a handful). */
export const MAX_BUNDLE_INDEX = 9999;

export interface BundleSpec {
  placementGroupId: Buffer;
  /** Hex of the group id: the suffix of the renamed resources. */
  pgHex: string;
  index: number;
  /** What the bundle reserves, in the node's own resource names. */
  resources: ResourceSet;
  /** The same, renamed for this bundle (`CPU_group_<index>_<pg>`) and for the group (`CPU_group_<pg>`). */
  indexed: ResourceSet;
  wildcard: ResourceSet;
  /** `<pgHex>:<index>`: a reservation's identity on this node. */
  key: string;
}

/**
 * Check one bundle. `field` names it in errors (`bundles[1]`); `needResources` is false for
 * CancelResourceReserve, where the raylet goes by what it reserved.
 */
export function parseBundleSpec(
  spec: tray.v1.BundleSpec.$Properties | null | undefined,
  field: string,
  localNodeId: Buffer,
  needResources = true,
): BundleSpec {
  if (!spec) throw invalidArgument(`${field} is required (a BundleSpec)`);
  const placementGroupId = checkId(
    spec.placementGroupId,
    PLACEMENT_GROUP_ID_BYTES,
    `${field}.placement_group_id`,
  );
  const index = spec.bundleIndex ?? 0;
  if (!Number.isInteger(index) || index < 0 || index > MAX_BUNDLE_INDEX) {
    throw invalidArgument(
      `${field}.bundle_index must be a whole number from 0 to ${MAX_BUNDLE_INDEX}, got ${index}`,
    );
  }
  const nodeId = checkId(spec.nodeId, IdBytes.node, `${field}.node_id`, true);
  if (nodeId.length > 0 && !nodeId.equals(localNodeId)) {
    throw invalidArgument(
      `${field}.node_id is ${nodeId.toString('hex')} but this raylet is node ${localNodeId.toString('hex')}: send the bundle to its own node`,
    );
  }
  const resources = toResourceSet(spec.resources, `${field}.resources`);
  if (needResources && resources.isEmpty) {
    throw invalidArgument(`${field}.resources must ask for at least one resource with a quantity above 0`);
  }
  for (const name of resources.names) {
    if (/_group_/.test(name)) {
      throw invalidArgument(
        `${field}.resources names "${name}", a placement-group resource: a bundle reserves the node's own resources (CPU, GPU, memory, custom)`,
      );
    }
  }
  const pgHex = placementGroupId.toString('hex');
  try {
    return {
      placementGroupId,
      pgHex,
      index,
      resources,
      indexed: bundleResources(resources, pgHex, index),
      wildcard: bundleResources(resources, pgHex, -1),
      key: `${pgHex}:${index}`,
    };
  } catch (err) {
    if (err instanceof InvalidResourceError) {
      throw invalidArgument(
        `${field}.resources: a resource name is too long to be renamed for a bundle: ${err.message}`,
      );
    }
    throw err;
  }
}

/** Check every bundle of a Prepare/Commit request; one bundle appearing twice is an error. */
export function parseBundleSpecs(
  specs: tray.v1.BundleSpec.$Properties[] | null | undefined,
  localNodeId: Buffer,
): BundleSpec[] {
  if (!specs || specs.length === 0) throw invalidArgument('bundles must list at least one BundleSpec');
  const seen = new Set<string>();
  return specs.map((spec, i) => {
    const bundle = parseBundleSpec(spec, `bundles[${i}]`, localNodeId);
    if (seen.has(bundle.key)) {
      throw invalidArgument(
        `bundles[${i}] repeats bundle ${bundle.index} of placement group ${bundle.pgHex}`,
      );
    }
    seen.add(bundle.key);
    return bundle;
  });
}
