// The resources of one node: its total (what it could ever run: feasibility) and what is free
// now (availability), with acquire/release of grants. Unit resources (GPU by default) are
// accounted per instance: a grant of GPU: 2 names two whole instances, a grant of GPU: 0.5 a
// share of one instance, so workers can be given CUDA_VISIBLE_DEVICES. `acquire` never takes
// more than is free; only `forceAcquire` (a blocked worker taking its CPU back) may
// oversubscribe, and availability then reads as zero until enough is released.
import { InvalidResourceError, normalizeQuantity, type ResourceInput, ResourceSet } from './resource-set.js';

/** What one acquire took: the quantities, and for unit resources which instances. */
export interface ResourceGrant {
  readonly resources: ResourceSet;
  /** Unit resource name → instance ids granted (sorted). */
  readonly instanceIds: Readonly<Record<string, number[]>>;
  /** Unit resource name → (instance id → share taken), to give back exactly. */
  readonly shares: Readonly<Record<string, ReadonlyArray<readonly [number, number]>>>;
}

export interface NodeResourcesOptions {
  /** Resources accounted per instance (default ['GPU']); their totals must be whole numbers. */
  unitResources?: readonly string[];
}

export class NodeResources {
  private totalSet: ResourceSet;
  /** name → free quantity (may be negative only after forceAcquire). */
  private readonly free = new Map<string, number>();
  /** unit resource name → free share of each instance (1 = whole instance free). */
  private readonly instances = new Map<string, number[]>();
  readonly unitResources: readonly string[];

  constructor(total: ResourceInput, options: NodeResourcesOptions = {}) {
    this.totalSet = ResourceSet.from(total, 'node resource');
    this.unitResources = options.unitResources ?? ['GPU'];
    for (const [name, q] of this.totalSet.entries()) {
      this.free.set(name, q);
      if (this.unitResources.includes(name)) {
        if (!Number.isInteger(q)) {
          throw new InvalidResourceError(`node resource "${name}" is counted in whole units; got ${q}`);
        }
        this.instances.set(name, new Array(q).fill(1));
      }
    }
  }

  get total(): ResourceSet {
    return this.totalSet;
  }

  /** What is free now (negative balances read as 0). */
  get available(): ResourceSet {
    const record: Record<string, number> = {};
    for (const [name, q] of this.free) record[name] = Math.max(0, q);
    return ResourceSet.from(record);
  }

  /** Could this node ever run `request` (against its total)? */
  isFeasible(request: ResourceSet): boolean {
    this.checkUnitShape(request);
    return request.isSubsetOf(this.totalSet);
  }

  /** Could this node run `request` now? */
  isAvailable(request: ResourceSet): boolean {
    for (const [name, q] of request.entries()) {
      if (q > (this.free.get(name) ?? 0)) return false;
      if (this.instances.has(name) && this.pickInstances(name, q) === undefined) return false;
    }
    return true;
  }

  /**
   * Take `request` if it is free now; undefined if it must wait. Throws InvalidResourceError
   * for a request the node could never satisfy or a malformed unit request.
   */
  acquire(request: ResourceInput): ResourceGrant | undefined {
    const set = ResourceSet.from(request, 'requested resource');
    if (!this.isFeasible(set)) {
      throw new InvalidResourceError(
        `this node can never provide ${set.missingFrom(this.totalSet)}; it has ${this.totalSet}`,
      );
    }
    if (!this.isAvailable(set)) return undefined;
    const instanceIds: Record<string, number[]> = {};
    const shares: Record<string, Array<readonly [number, number]>> = {};
    for (const [name, q] of set.entries()) {
      this.free.set(name, normalizeQuantity(this.free.get(name)! - q));
      const slots = this.instances.get(name);
      if (slots === undefined) continue;
      const picked = this.pickInstances(name, q)!;
      for (const [id, share] of picked) slots[id] = normalizeQuantity(slots[id]! - share);
      instanceIds[name] = picked.map(([id]) => id).sort((a, b) => a - b);
      shares[name] = picked;
    }
    return { resources: set, instanceIds, shares };
  }

  /**
   * Take `request` even if that oversubscribes the node (availability stays at 0 until enough
   * is released). Only for non-unit resources: used when a blocked worker resumes.
   */
  forceAcquire(request: ResourceInput): ResourceGrant {
    const set = ResourceSet.from(request, 'requested resource');
    for (const name of set.names) {
      if (this.instances.has(name)) {
        throw new InvalidResourceError(`"${name}" is a unit resource and cannot be oversubscribed`);
      }
    }
    for (const [name, q] of set.entries())
      this.free.set(name, normalizeQuantity((this.free.get(name) ?? 0) - q));
    return { resources: set, instanceIds: {}, shares: {} };
  }

  /** Give back a grant. Throws if that would make more free than the node has. */
  release(grant: ResourceGrant): void {
    for (const [name, q] of grant.resources.entries()) {
      const after = normalizeQuantity((this.free.get(name) ?? 0) + q);
      if (after > this.totalSet.get(name)) {
        throw new InvalidResourceError(
          `releasing ${q} ${name} would leave ${after} free of a total of ${this.totalSet.get(name)}: this grant was released twice or never acquired here`,
        );
      }
    }
    for (const [name, q] of grant.resources.entries()) {
      this.free.set(name, normalizeQuantity(this.free.get(name)! + q));
      const slots = this.instances.get(name);
      const taken = grant.shares[name];
      if (slots === undefined || taken === undefined) continue;
      for (const [id, share] of taken) slots[id] = Math.min(1, normalizeQuantity(slots[id]! + share));
    }
  }

  /**
   * Grow the node by `added` (total and free alike): a committed placement-group bundle's
   * renamed resources. Unit resources cannot be added this way.
   */
  addResources(added: ResourceInput): void {
    const set = ResourceSet.from(added, 'added resource');
    this.checkNotUnit(set, 'added');
    this.totalSet = this.totalSet.add(set);
    for (const [name, q] of set.entries())
      this.free.set(name, normalizeQuantity((this.free.get(name) ?? 0) + q));
  }

  /**
   * Shrink the node by `removed`, which must be entirely free now (whoever held part of it
   * released it first): a cancelled bundle's renamed resources.
   */
  removeResources(removed: ResourceInput): void {
    const set = ResourceSet.from(removed, 'removed resource');
    this.checkNotUnit(set, 'removed');
    for (const [name, q] of set.entries()) {
      if (q > (this.free.get(name) ?? 0) || q > this.totalSet.get(name)) {
        throw new InvalidResourceError(
          `cannot remove ${q} ${name}: only ${Math.max(0, this.free.get(name) ?? 0)} of it is free (total ${this.totalSet.get(name)})`,
        );
      }
    }
    this.totalSet = this.totalSet.subtract(set);
    for (const [name, q] of set.entries()) {
      const left = normalizeQuantity(this.free.get(name)! - q);
      if (this.totalSet.has(name)) this.free.set(name, left);
      else this.free.delete(name);
    }
  }

  private checkNotUnit(set: ResourceSet, what: string): void {
    for (const name of set.names) {
      if (this.instances.has(name) || this.unitResources.includes(name)) {
        throw new InvalidResourceError(
          `"${name}" is a unit resource and cannot be ${what} to a running node`,
        );
      }
    }
  }

  /** Unit requests are whole numbers, or one fraction of a single instance (< 1). */
  private checkUnitShape(request: ResourceSet): void {
    for (const name of this.unitResources) {
      const q = request.get(name);
      if (q > 1 && !Number.isInteger(q)) {
        throw new InvalidResourceError(
          `${name}: ${q} cannot be granted: ask for a whole number of ${name}s, or a fraction below 1 to share one`,
        );
      }
    }
  }

  /** Which instances would serve `quantity`: whole free ones, or the fullest one that fits. */
  private pickInstances(name: string, quantity: number): Array<readonly [number, number]> | undefined {
    const slots = this.instances.get(name)!;
    if (quantity >= 1) {
      const picked: Array<readonly [number, number]> = [];
      for (let id = 0; id < slots.length && picked.length < quantity; id++) {
        if (slots[id] === 1) picked.push([id, 1]);
      }
      return picked.length === quantity ? picked : undefined;
    }
    let best = -1;
    for (let id = 0; id < slots.length; id++) {
      if (slots[id]! >= quantity && (best < 0 || slots[id]! < slots[best]!)) best = id;
    }
    return best < 0 ? undefined : [[best, quantity]];
  }
}
