// The seam between the placement-group manager and the raylets: Ray's two-phase reservation of
// bundles, one node at a time. The manager decides where bundles go and when; a reserver only
// carries each step to a node. `acceptingReserver` is for a GCS run without raylets (unit tests,
// `actorScheduling: 'none'`): every prepare succeeds and nothing is held anywhere.
import type { tray } from '@tray/protocol';

/** One bundle as the raylets see it (raylet.proto BundleSpec). */
export type BundleSpec = tray.v1.BundleSpec.$Properties;

export interface BundleReserver {
  /** Take the bundles out of the node's free resources, all or none: false when they are not free. */
  prepare(node: tray.v1.NodeInfo, bundles: BundleSpec[]): Promise<boolean>;
  /** Make prepared bundles usable (their renamed resources appear on the node). */
  commit(node: tray.v1.NodeInfo, bundles: BundleSpec[]): Promise<void>;
  /** Give a prepared or committed bundle back (a no-op for one the node does not hold). */
  cancel(node: tray.v1.NodeInfo, bundle: BundleSpec): Promise<void>;
  close(): void;
}

export const acceptingReserver: BundleReserver = {
  prepare: async () => true,
  commit: async () => {},
  cancel: async () => {},
  close: () => {},
};
