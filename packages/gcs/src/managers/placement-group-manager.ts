// Placement groups (PlacementGroupInfoGcsService): the table, names unique per namespace,
// placing bundles on nodes with `placeBundles` and reserving them there (two-phase-reservation.ts:
// prepare every bundle on its raylet, then commit). A group is CREATED once every bundle is
// committed; until then it stays PENDING and is tried again whenever a node joins, a group is
// removed, and every second while any group waits. Removing a group cancels its bundles on their
// raylets. A group that loses a node goes RESCHEDULING: its other bundles are cancelled and the
// whole group is placed again. Placement runs one group at a time. Every state change is
// published on PLACEMENT_GROUP_CHANNEL keyed by group id. A group that is not detached lives as
// long as its creator (Ray's lifetime): the job of a driver or task that created it, or the actor
// that created it, whose final death (DEAD, no restart left) removes the group (gcs-managers.ts).
import {
  alreadyExists,
  checkId,
  IdBytes,
  invalidArgument,
  notFound,
  requireMessage,
  tray,
} from '@tray/protocol';
import { Channel, type Publisher } from '../pubsub.js';
import { checkResources } from '../request-validation.js';
import { PersistedTable } from '../storage/persisted-table.js';
import { bytesKey, type GcsStorage, keyBytes, Tables } from '../storage/storage.js';
import { acceptingReserver, type BundleReserver, type BundleSpec } from './bundle-reserver.js';
import type { NodeManager } from './node-manager.js';
import { type NodeCapacity, placeBundles, type Resources } from './placement-policy.js';
import { TwoPhaseReservation } from './two-phase-reservation.js';

type PlacementGroup = tray.v1.PlacementGroupTableData;
const State = tray.v1.PlacementGroupTableData.State;

interface Waiter {
  resolve(ready: boolean): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
}

/** How often groups still waiting for resources are tried again. */
export const PENDING_RETRY_MS = 1000;

function isWaiting(group: PlacementGroup): boolean {
  return group.state === State.PENDING || group.state === State.RESCHEDULING;
}

/** The group's bundles as the raylets see them (each with the node it is placed on). */
function bundleSpecs(group: PlacementGroup, nodeKeys?: readonly string[]): BundleSpec[] {
  return group.bundles.map((b, i) => ({
    placementGroupId: group.placementGroupId,
    bundleIndex: b.index,
    resources: b.resources,
    nodeId: nodeKeys ? keyBytes(nodeKeys[i]!) : b.nodeId,
  }));
}

export class PlacementGroupManager {
  private readonly table: PersistedTable<PlacementGroup>;
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Why each unplaced group could not be placed yet (for errors and `tray status`). */
  readonly pendingReasons = new Map<string, string>();
  private reserver: BundleReserver = acceptingReserver;
  private readonly reservation: TwoPhaseReservation;
  private placing: Promise<void> | undefined;
  private placeAgain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    storage: GcsStorage,
    private readonly publisher: Publisher,
    private readonly nodes: NodeManager,
    log: (message: string) => void = () => {},
  ) {
    this.reservation = new TwoPhaseReservation(nodes, () => this.reserver, log);
    this.table = new PersistedTable<PlacementGroup>(
      storage,
      Tables.placementGroups,
      tray.v1.PlacementGroupTableData,
    );
    nodes.onNodeAdded(() => void this.placePending().catch(() => {}));
    nodes.onNodeDead((node) => void this.nodeDied(node.nodeId).catch(() => {}));
  }

  /** Installs what reserves bundles on the nodes (default: nothing is reserved anywhere). */
  setReserver(reserver: BundleReserver | undefined): void {
    this.reserver = reserver ?? acceptingReserver;
  }

  async load(): Promise<void> {
    await this.table.load();
    await this.placePending();
  }

  async create(request: tray.v1.CreatePlacementGroupRequest): Promise<void> {
    const group = tray.v1.PlacementGroupTableData.create(
      requireMessage(request.placementGroup, 'placement_group'),
    );
    const id = checkId(group.placementGroupId, IdBytes.placementGroup, 'placement_group.placement_group_id');
    checkId(group.creatorJobId, IdBytes.job, 'placement_group.creator_job_id', true);
    checkId(group.creatorActorId, IdBytes.actor, 'placement_group.creator_actor_id', true);
    if (group.bundles.length === 0) throw invalidArgument('placement_group.bundles must not be empty');
    group.bundles.forEach((bundle, i) => {
      checkResources(bundle.resources, `placement_group.bundles[${i}].resources`);
      const quantities = Object.values(bundle.resources?.quantities ?? {});
      if (!quantities.some((q) => q > 0)) {
        throw invalidArgument(`placement_group.bundles[${i}] must ask for at least one resource`);
      }
    });
    if (!(group.strategy in tray.v1.PlacementStrategy)) {
      throw invalidArgument(
        `placement_group.strategy ${group.strategy} is not PACK, SPREAD, STRICT_PACK or STRICT_SPREAD`,
      );
    }
    const key = bytesKey(id);
    const existing = this.table.get(key);
    if (existing) {
      if (existing.state === State.REMOVED)
        throw alreadyExists(`placement group ${key} was removed; use a new id`);
      return; // a retried create: idempotent
    }
    if (group.name && this.findNamed(group.name, group.namespace)) {
      throw alreadyExists(
        `a placement group named '${group.name}' already exists in namespace '${group.namespace}'; ` +
          'choose another name or remove the existing group first',
      );
    }
    const row = tray.v1.PlacementGroupTableData.create({
      ...group,
      bundles: group.bundles.map((bundle, index) => ({
        index,
        resources: bundle.resources,
        nodeId: new Uint8Array(),
      })),
      state: State.PENDING,
    });
    await this.table.set(key, row);
    this.publish(row);
    await this.placePending();
  }

  async remove(request: tray.v1.RemovePlacementGroupRequest): Promise<void> {
    const key = bytesKey(checkId(request.placementGroupId, IdBytes.placementGroup, 'placement_group_id'));
    const group = this.table.get(key);
    if (!group) throw notFound(`placement group ${key} does not exist`);
    if (group.state === State.REMOVED) return;
    const wasCreated = group.state === State.CREATED;
    const row = tray.v1.PlacementGroupTableData.create({ ...group, state: State.REMOVED });
    await this.table.set(key, row);
    this.pendingReasons.delete(key);
    this.publish(row);
    this.settleWaiters(key, new Error(`placement group ${key} was removed`));
    // A group being reserved right now is cancelled by the placement loop when it sees REMOVED.
    if (wasCreated) await this.reservation.release(bundleSpecs(group));
    // Others may fit now; the removal does not wait for them (nor for a reservation in flight).
    void this.placePending().catch(() => {});
  }

  get(request: tray.v1.GetPlacementGroupRequest): PlacementGroup {
    const key = bytesKey(checkId(request.placementGroupId, IdBytes.placementGroup, 'placement_group_id'));
    const group = this.table.get(key);
    if (!group) throw notFound(`placement group ${key} does not exist`);
    return group;
  }

  all(): PlacementGroup[] {
    return [...this.table.values()];
  }

  getNamed(request: tray.v1.GetNamedPlacementGroupRequest): PlacementGroup {
    if (!request.name) throw invalidArgument('name is required and must be a non-empty string');
    const group = this.findNamed(request.name, request.namespace);
    if (!group) {
      throw notFound(`no placement group named '${request.name}' in namespace '${request.namespace}'`);
    }
    return group;
  }

  getAll(): PlacementGroup[] {
    return [...this.table.values()];
  }

  /** Resolves true once the group is CREATED, false when `timeoutMs` (> 0) passes first. */
  waitUntilReady(request: tray.v1.WaitPlacementGroupUntilReadyRequest): Promise<boolean> {
    const group = this.get({
      placementGroupId: request.placementGroupId,
    } as tray.v1.GetPlacementGroupRequest);
    const key = bytesKey(group.placementGroupId);
    if (group.state === State.CREATED) return Promise.resolve(true);
    if (group.state === State.REMOVED) return Promise.reject(notFound(`placement group ${key} was removed`));
    if (request.timeoutMs < 0) throw invalidArgument(`timeout_ms must be >= 0, got ${request.timeoutMs}`);
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const waiter: Waiter = { resolve, reject };
      if (request.timeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          set.delete(waiter);
          resolve(false);
        }, request.timeoutMs);
      }
      set.add(waiter);
    });
  }

  /** A job ended: its non-detached groups are removed. */
  async jobFinished(jobId: Uint8Array): Promise<void> {
    const job = bytesKey(jobId);
    for (const [key, group] of this.table.entries()) {
      if (group.state !== State.REMOVED && !group.detached && bytesKey(group.creatorJobId) === job) {
        await this.remove({ placementGroupId: keyBytes(key) } as tray.v1.RemovePlacementGroupRequest);
      }
    }
  }

  /** An actor is DEAD for good: the non-detached groups it created are removed. */
  async creatorActorDied(actorId: Uint8Array): Promise<void> {
    const actor = bytesKey(actorId);
    for (const [key, group] of this.table.entries()) {
      if (group.state === State.REMOVED || group.detached || group.creatorActorId.length === 0) continue;
      if (bytesKey(group.creatorActorId) !== actor) continue;
      await this.remove({ placementGroupId: keyBytes(key) } as tray.v1.RemovePlacementGroupRequest);
    }
  }

  /**
   * After a restart on durable storage: groups whose creator actor died while the GCS was down
   * (or whose removal the previous GCS did not finish) are removed.
   */
  async removeOrphans(isActorDead: (actorId: Uint8Array) => boolean): Promise<void> {
    for (const [key, group] of this.table.entries()) {
      if (group.state === State.REMOVED || group.detached || group.creatorActorId.length === 0) continue;
      if (!isActorDead(group.creatorActorId)) continue;
      await this.remove({ placementGroupId: keyBytes(key) } as tray.v1.RemovePlacementGroupRequest);
    }
  }

  /** Fails every pending wait (the server is closing). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const key of [...this.waiters.keys()])
      this.settleWaiters(key, new Error('the GCS is shutting down'));
  }

  private findNamed(name: string, namespace: string): PlacementGroup | undefined {
    for (const group of this.table.values()) {
      if (group.state !== State.REMOVED && group.name === name && group.namespace === namespace) return group;
    }
    return undefined;
  }

  private capacities(): NodeCapacity[] {
    const free = new Map<string, Resources>();
    for (const node of this.nodes.aliveNodes()) {
      free.set(bytesKey(node.nodeId), { ...(node.totalResources?.quantities ?? {}) });
    }
    for (const group of this.table.values()) {
      if (group.state !== State.CREATED) continue;
      for (const bundle of group.bundles) {
        const node = free.get(bytesKey(bundle.nodeId));
        if (!node) continue;
        for (const [name, q] of Object.entries(bundle.resources?.quantities ?? {}))
          node[name] = (node[name] ?? 0) - q;
      }
    }
    return [...free].map(([nodeKey, f]) => ({ nodeKey, free: f }));
  }

  /** Place and reserve every waiting group, one at a time; a call during a run makes it go round again. */
  private placePending(): Promise<void> {
    if (this.placing) {
      this.placeAgain = true;
      return this.placing;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.placing = (async () => {
      try {
        do {
          this.placeAgain = false;
          await this.placeWaitingGroups();
        } while (this.placeAgain && !this.closed);
      } finally {
        this.placing = undefined;
        this.scheduleRetry();
      }
    })();
    return this.placing;
  }

  /** Groups still waiting (their resources may be in use) are tried again shortly. */
  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    if (![...this.table.values()].some(isWaiting)) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.placePending().catch(() => {});
    }, PENDING_RETRY_MS);
    this.retryTimer.unref();
  }

  private async placeWaitingGroups(): Promise<void> {
    for (const [key, group] of [...this.table.entries()]) {
      if (this.closed) return;
      if (!isWaiting(group)) continue;
      const bundles = group.bundles.map((b) => ({ ...(b.resources?.quantities ?? {}) }));
      const placement = placeBundles(bundles, group.strategy, this.capacities());
      if (!placement.ok) {
        this.pendingReasons.set(key, placement.reason);
        continue;
      }
      const specs = bundleSpecs(group, placement.nodeKeys);
      const reserved = await this.reservation.reserve(specs, () => {
        const now = this.table.get(key);
        return now !== undefined && isWaiting(now);
      });
      if (!reserved.ok) {
        this.pendingReasons.set(key, reserved.reason);
        continue;
      }
      const now = this.table.get(key);
      if (!now || !isWaiting(now)) {
        await this.reservation.release(specs); // removed while it was being reserved
        continue;
      }
      this.pendingReasons.delete(key);
      const row = tray.v1.PlacementGroupTableData.create({
        ...now,
        state: State.CREATED,
        bundles: now.bundles.map((b, i) => ({ ...b, nodeId: keyBytes(placement.nodeKeys[i]!) })),
      });
      await this.table.set(key, row);
      this.publish(row);
      this.settleWaiters(key);
    }
  }

  private async nodeDied(nodeId: Uint8Array): Promise<void> {
    const dead = bytesKey(nodeId);
    for (const [key, group] of this.table.entries()) {
      if (group.state !== State.CREATED) continue;
      if (!group.bundles.some((b) => bytesKey(b.nodeId) === dead)) continue;
      const row = tray.v1.PlacementGroupTableData.create({
        ...group,
        state: State.RESCHEDULING,
        bundles: group.bundles.map((b) => ({ ...b, nodeId: new Uint8Array() })),
      });
      await this.table.set(key, row);
      this.publish(row);
      // The group is placed again as a whole: its bundles on the surviving nodes are given back.
      await this.reservation.release(bundleSpecs(group).filter((b) => bytesKey(b.nodeId) !== dead));
    }
    await this.placePending();
  }

  private settleWaiters(key: string, error?: Error): void {
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const waiter of set) {
      clearTimeout(waiter.timer);
      if (error) waiter.reject(error);
      else waiter.resolve(true);
    }
  }

  private publish(group: PlacementGroup): void {
    this.publisher.publish({
      channel: Channel.PLACEMENT_GROUP_CHANNEL,
      key: group.placementGroupId,
      placementGroup: group,
    });
  }
}
