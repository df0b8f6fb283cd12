// Placement-group bundles reserved on this node: Ray's two-phase commit, driven by the GCS.
// Prepare takes a bundle's resources out of what the node has free (all of a request's bundles
// or none); commit makes them usable only through the bundle, as `<R>_group_<index>_<pg>` and
// `<R>_group_<pg>` in the node's total and available resources; cancel undoes either, killing
// the workers leased on the bundle's resources first (Ray kills the tasks and actors of a
// removed group). Every step is idempotent per (group, bundle index), so the GCS may retry.
import { ErrorType, errorWithInfo, invalidArgument } from '@tray/protocol';
import { InvalidResourceError, type NodeResources, type ResourceGrant } from '@tray/scheduler';
import type { BundleSpec } from './bundle-spec.js';

interface Reservation {
  bundle: BundleSpec;
  /** The node's own resources taken at prepare. */
  grant: ResourceGrant;
  committed: boolean;
}

/** What a reservation needs from the leases: end those holding a bundle's resources. */
export interface BundleLeases {
  /** Release and kill every granted lease holding any of `names`; answer queued requests the node can no longer serve. */
  evictHolding(names: ReadonlySet<string>, reason: string): void;
  /** Queued requests the node can no longer serve (their bundle is gone) are answered infeasible. */
  failInfeasible(): void;
  dispatch(): void;
}

export class BundleReservations {
  private readonly reservations = new Map<string, Reservation>();

  constructor(
    private readonly resources: NodeResources,
    private readonly leases: BundleLeases,
    /** Called after the node's total or available resources changed. */
    private readonly onChanged: () => void = () => {},
  ) {}

  /** Bundles reserved here now (prepared or committed), for stats and tests. */
  get size(): number {
    return this.reservations.size;
  }

  /**
   * Reserve every bundle, or none: false when any is not free now (or never could be on this
   * node). A bundle already reserved with the same resources counts as reserved.
   */
  prepare(bundles: readonly BundleSpec[]): boolean {
    for (const bundle of bundles) this.checkSameResources(bundle);
    const taken: Reservation[] = [];
    for (const bundle of bundles) {
      if (this.reservations.has(bundle.key)) continue;
      let grant: ResourceGrant | undefined;
      try {
        grant = this.resources.isFeasible(bundle.resources)
          ? this.resources.acquire(bundle.resources)
          : undefined;
      } catch (err) {
        if (!(err instanceof InvalidResourceError)) throw err;
        grant = undefined; // a malformed unit request (GPU: 1.5) fits nowhere: not prepared
      }
      if (grant === undefined) {
        for (const r of taken) {
          this.reservations.delete(r.bundle.key);
          this.resources.release(r.grant);
        }
        return false;
      }
      const reservation: Reservation = { bundle, grant, committed: false };
      this.reservations.set(bundle.key, reservation);
      taken.push(reservation);
    }
    if (taken.length > 0) this.onChanged();
    return true;
  }

  /** Make prepared bundles usable by leases. Every bundle must have been prepared here. */
  commit(bundles: readonly BundleSpec[]): void {
    for (const bundle of bundles) {
      this.checkSameResources(bundle);
      if (!this.reservations.has(bundle.key)) {
        throw errorWithInfo({
          type: ErrorType.INVALID_ARGUMENT,
          message: `bundle ${bundle.index} of placement group ${bundle.pgHex} was not prepared on this node: call PrepareBundleResources first`,
        });
      }
    }
    let changed = false;
    for (const bundle of bundles) {
      const reservation = this.reservations.get(bundle.key)!;
      if (reservation.committed) continue;
      this.resources.addResources(bundle.indexed.add(bundle.wildcard));
      reservation.committed = true;
      changed = true;
    }
    if (!changed) return;
    this.onChanged();
    this.leases.dispatch();
  }

  /** Give a bundle's resources back (nothing to do when it is not reserved here). */
  cancel(bundle: BundleSpec): void {
    const reservation = this.reservations.get(bundle.key);
    if (reservation === undefined) return;
    const { indexed, wildcard } = reservation.bundle;
    if (reservation.committed) {
      const names = new Set([...indexed.names, ...wildcard.names]);
      this.leases.evictHolding(
        names,
        `bundle ${bundle.index} of its placement group ${bundle.pgHex} was removed`,
      );
      this.resources.removeResources(indexed.add(wildcard));
    }
    this.reservations.delete(bundle.key);
    this.resources.release(reservation.grant);
    this.onChanged();
    if (reservation.committed) this.leases.failInfeasible();
    this.leases.dispatch();
  }

  private checkSameResources(bundle: BundleSpec): void {
    const existing = this.reservations.get(bundle.key);
    if (existing && !existing.bundle.resources.equals(bundle.resources)) {
      throw invalidArgument(
        `bundle ${bundle.index} of placement group ${bundle.pgHex} is already reserved here with ${existing.bundle.resources}, not ${bundle.resources}`,
      );
    }
  }
}
