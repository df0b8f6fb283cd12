// Placement groups of API.md: `tray.placementGroup(bundles, options)` asks the cluster to reserve
// bundles of resources (the GCS places them on nodes and has their raylets set them aside), so
// tasks and actors later run inside a bundle with `schedulingStrategy: { placementGroup,
// bundleIndex }` and find their resources waiting. `pg.ready()` / `pg.wait(ms)` tell when the
// reservation holds, `tray.removePlacementGroup` gives it back (what runs in it is stopped), and
// `tray.getPlacementGroup(name)` finds a named group from any driver or worker.
import { randomBytes } from 'node:crypto';
import type { GcsClient } from '@tray/gcs/client';
import { ErrorType, IdBytes, tray as proto, RemoteError } from '@tray/protocol';
import { currentActor } from '../actor/actor-context.js';
import { processGcs } from '../process/gcs.js';
import { requireCore } from '../process/state.js';
import { hex, JOB_ID_BYTES } from '../runtime/ids.js';
import { describeValue } from './describe-value.js';

/** Ray's strategies: PACK (default) and SPREAD are best effort, the STRICT ones are not. */
export type PlacementStrategy = 'PACK' | 'SPREAD' | 'STRICT_PACK' | 'STRICT_SPREAD';

/** One bundle: resource name → quantity, e.g. `{ CPU: 1, GPU: 1 }`. */
export type Bundle = Record<string, number>;

export interface PlacementGroupOptions {
  /** Default 'PACK'. */
  strategy?: PlacementStrategy;
  /** A name unique in the namespace, for tray.getPlacementGroup. */
  name?: string;
  /** Default: this job's namespace. */
  namespace?: string;
  /**
   * Default: the group lives as long as its creator — the job of the driver or task that made
   * it, or the actor that made it (removed when the actor is dead with no restart left).
   * 'detached': it outlives its creator, until tray.removePlacementGroup.
   */
  lifetime?: 'detached';
}

export interface GetPlacementGroupOptions {
  /** Default: this job's namespace. */
  namespace?: string;
}

const STRATEGIES: readonly PlacementStrategy[] = ['PACK', 'SPREAD', 'STRICT_PACK', 'STRICT_SPREAD'];
const OPTION_KEYS = new Set(['strategy', 'name', 'namespace', 'lifetime']);
/** Ray's PlacementGroupID: 14 unique bytes and the creating job's 4. */
const UNIQUE_BYTES = IdBytes.placementGroup - IdBytes.job;
const PLACEMENT_GROUP_BRAND = Symbol.for('tray.PlacementGroup');
const READY_ROUND_MS = 60_000;

/** A placement group. Pass it as `schedulingStrategy: { placementGroup: pg, bundleIndex }`. */
export class PlacementGroup {
  /** The group's id, as hex. */
  readonly id: string;
  readonly bundleSpecs: readonly Readonly<Bundle>[];
  readonly strategy: PlacementStrategy;
  readonly name: string;
  /** Settles when the GCS has the group (the create call; already settled for found groups). */
  readonly #registered: Promise<void>;
  readonly #gcs: GcsClient;

  /** @internal Made by tray.placementGroup and tray.getPlacementGroup. */
  constructor(
    id: string,
    bundles: readonly Bundle[],
    strategy: PlacementStrategy,
    name: string,
    gcs: GcsClient,
    registered: Promise<void>,
  ) {
    this.id = id;
    this.bundleSpecs = Object.freeze(bundles.map((b) => Object.freeze({ ...b })));
    this.strategy = strategy;
    this.name = name;
    this.#gcs = gcs;
    this.#registered = registered;
  }

  /**
   * Resolves once every bundle is reserved. Rejects when the group could not be created (a name
   * already taken) or was removed. A group larger than the cluster stays pending: see wait().
   */
  async ready(): Promise<void> {
    // Asked in rounds: a single unbounded wait would outlive the RPC deadline of any client.
    while (!(await this.#readyWithin(READY_ROUND_MS))) {}
  }

  /** True once every bundle is reserved, false if `timeoutMs` passed first. */
  async wait(timeoutMs: number): Promise<boolean> {
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new TypeError(
        `PlacementGroup.wait: timeoutMs must be a finite number ≥ 0, got ${describeValue(timeoutMs)}`,
      );
    }
    // The GCS treats 0 as "no limit": the shortest wait it can be asked for is 1 ms.
    return this.#readyWithin(Math.max(1, Math.ceil(timeoutMs)));
  }

  /** @internal The registration's outcome (removal waits for it, so it never races creation). */
  get registered(): Promise<void> {
    return this.#registered;
  }

  async #readyWithin(timeoutMs: number): Promise<boolean> {
    const core = requireCore('PlacementGroup.ready');
    await this.#registered;
    try {
      return await core.keepAlive(
        this.#gcs.waitPlacementGroupUntilReady(Buffer.from(this.id, 'hex'), timeoutMs),
      );
    } catch (err) {
      if (err instanceof RemoteError && err.info.type === ErrorType.NOT_FOUND) {
        throw new Error(`placement group ${this.id}${this.name ? ` ('${this.name}')` : ''} was removed`);
      }
      throw err;
    }
  }

  toString(): string {
    return `PlacementGroup(${this.id}${this.name ? `, '${this.name}'` : ''})`;
  }
}

Object.defineProperty(PlacementGroup.prototype, PLACEMENT_GROUP_BRAND, { value: true });

export function isPlacementGroup(value: unknown): value is PlacementGroup {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[PLACEMENT_GROUP_BRAND] === true
  );
}

/** Reserve `bundles` across the cluster. Returns at once; `await pg.ready()` for the reservation. */
export function placementGroup(bundles: Bundle[], options: PlacementGroupOptions = {}): PlacementGroup {
  const where = 'tray.placementGroup';
  const core = requireCore(where);
  checkBundles(where, bundles);
  checkOptions(where, options);
  const strategy = options.strategy ?? 'PACK';
  const id = Buffer.concat([randomBytes(UNIQUE_BYTES), core.jobId.subarray(0, JOB_ID_BYTES)]);
  const gcs = processGcs(core);
  const creatorActor = currentActor()?.actorId;
  const registered = core.keepAlive(
    (async () => {
      const namespace = options.namespace ?? (await gcs.namespace());
      try {
        await gcs.client.createPlacementGroup({
          placementGroupId: id,
          name: options.name ?? '',
          namespace,
          bundles: bundles.map((b, index) => ({ index, resources: { quantities: { ...b } } })),
          strategy: proto.v1.PlacementStrategy[strategy],
          creatorJobId: core.jobId,
          detached: options.lifetime === 'detached',
          creatorActorId: creatorActor ?? new Uint8Array(),
        });
      } catch (err) {
        if (err instanceof RemoteError) throw new Error(`${where}: ${err.info.message}`);
        throw err;
      }
    })(),
  );
  // The outcome is reported by ready(), wait() and removePlacementGroup; not one of them called
  // is not an unhandled rejection.
  registered.catch(() => {});
  return new PlacementGroup(hex(id), bundles, strategy, options.name ?? '', gcs.client, registered);
}

/** Give the group's bundles back; tasks and actors running in them are stopped. */
export async function removePlacementGroup(pg: PlacementGroup): Promise<void> {
  const core = requireCore('tray.removePlacementGroup');
  if (!isPlacementGroup(pg)) {
    throw new TypeError(
      `tray.removePlacementGroup: expected a PlacementGroup from tray.placementGroup() or tray.getPlacementGroup(), got ${describeValue(pg)}`,
    );
  }
  try {
    await pg.registered;
  } catch {
    return; // never created: nothing to give back
  }
  await core.keepAlive(processGcs(core).client.removePlacementGroup(Buffer.from(pg.id, 'hex')));
}

/** The live placement group named `name` (in this job's namespace unless given). */
export async function getPlacementGroup(
  name: string,
  options: GetPlacementGroupOptions = {},
): Promise<PlacementGroup> {
  const where = 'tray.getPlacementGroup';
  const core = requireCore(where);
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`${where}: name must be a non-empty string, got ${describeValue(name)}`);
  }
  if (
    options === null ||
    typeof options !== 'object' ||
    Object.keys(options).some((k) => k !== 'namespace')
  ) {
    throw new TypeError(`${where}: options may only have namespace`);
  }
  const gcs = processGcs(core);
  const namespace = options.namespace ?? (await core.keepAlive(gcs.namespace()));
  let row: proto.v1.PlacementGroupTableData;
  try {
    row = await core.keepAlive(gcs.client.getNamedPlacementGroup(name, namespace));
  } catch (err) {
    if (err instanceof RemoteError && err.info.type === ErrorType.NOT_FOUND) {
      throw new Error(`${where}: no placement group named '${name}' in namespace '${namespace}'`);
    }
    throw err;
  }
  return fromTableRow(row, gcs.client);
}

function fromTableRow(row: proto.v1.PlacementGroupTableData, gcs: GcsClient): PlacementGroup {
  const bundles = [...row.bundles]
    .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
    .map((b) => ({ ...(b.resources?.quantities ?? {}) }));
  const strategy = (proto.v1.PlacementStrategy[row.strategy] ?? 'PACK') as PlacementStrategy;
  return new PlacementGroup(hex(row.placementGroupId), bundles, strategy, row.name, gcs, Promise.resolve());
}

function checkBundles(where: string, bundles: unknown): asserts bundles is Bundle[] {
  if (!Array.isArray(bundles) || bundles.length === 0) {
    throw new TypeError(
      `${where}: bundles must be a non-empty array of resource objects such as [{ CPU: 1 }, { CPU: 1 }], got ${describeValue(bundles)}`,
    );
  }
  bundles.forEach((bundle, i) => {
    if (bundle === null || typeof bundle !== 'object' || Array.isArray(bundle)) {
      throw new TypeError(
        `${where}: bundle ${i} must be an object such as { CPU: 1 }, got ${describeValue(bundle)}`,
      );
    }
    const entries = Object.entries(bundle as Record<string, unknown>);
    for (const [name, quantity] of entries) {
      if (name.includes('_group_')) {
        throw new TypeError(
          `${where}: bundle ${i} asks for '${name}': names with '_group_' are the cluster's own`,
        );
      }
      if (typeof quantity !== 'number' || !Number.isFinite(quantity) || quantity < 0) {
        throw new TypeError(
          `${where}: bundle ${i} must give each resource a finite number ≥ 0, got ${name}: ${describeValue(quantity)}`,
        );
      }
    }
    if (!entries.some(([, q]) => (q as number) > 0)) {
      throw new TypeError(`${where}: bundle ${i} must ask for at least one resource, e.g. { CPU: 1 }`);
    }
  });
}

function checkOptions(where: string, options: unknown): asserts options is PlacementGroupOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(
        `${where}: unknown option '${key}' (expected one of ${[...OPTION_KEYS].join(', ')})`,
      );
    }
  }
  if (o.strategy !== undefined && !STRATEGIES.includes(o.strategy as PlacementStrategy)) {
    throw new TypeError(
      `${where}: strategy must be one of ${STRATEGIES.join(', ')}, got ${describeValue(o.strategy)}`,
    );
  }
  if (o.name !== undefined && typeof o.name !== 'string') {
    throw new TypeError(`${where}: name must be a string, got ${describeValue(o.name)}`);
  }
  if (o.namespace !== undefined && (typeof o.namespace !== 'string' || o.namespace === '')) {
    throw new TypeError(`${where}: namespace must be a non-empty string, got ${describeValue(o.namespace)}`);
  }
  if (o.lifetime !== undefined && o.lifetime !== 'detached') {
    throw new TypeError(
      `${where}: lifetime must be 'detached' or left out, got ${describeValue(o.lifetime)}`,
    );
  }
}

/** The task spec's strategy for `{ placementGroup, bundleIndex }` (checked by the options). */
export function placementGroupStrategy(
  pg: PlacementGroup,
  bundleIndex: number | undefined,
): proto.v1.ISchedulingStrategy {
  return { placementGroup: { placementGroupId: Buffer.from(pg.id, 'hex'), bundleIndex: bundleIndex ?? -1 } };
}

/** What is wrong with `{ placementGroup, bundleIndex }`, or undefined when it is right. */
export function placementGroupStrategyProblem(value: Record<string, unknown>): string | undefined {
  if (!isPlacementGroup(value.placementGroup)) {
    return `schedulingStrategy.placementGroup must be a PlacementGroup from tray.placementGroup() or tray.getPlacementGroup(), got ${describeValue(value.placementGroup)}`;
  }
  const index = value.bundleIndex;
  const count = value.placementGroup.bundleSpecs.length;
  if (
    index !== undefined &&
    (typeof index !== 'number' || !Number.isInteger(index) || index < -1 || index >= count)
  ) {
    return `schedulingStrategy.bundleIndex must be an integer from -1 (any bundle) to ${count - 1}, got ${describeValue(index)}`;
  }
  return undefined;
}
