// Quantities of named resources (CPU, GPU, memory in bytes, custom names) and their arithmetic.
// A ResourceSet is immutable, holds only positive quantities, and is validated where it is
// built: a name must be a plain identifier and a quantity a finite number ≥ 0. Quantities are
// kept on a 1/10000 grid (Ray's fixed-point resolution) so that 0.1 + 0.2 - 0.3 is exactly 0.

/** A request or a grant that cannot be right, whatever the node: the caller must fix it. */
export class InvalidResourceError extends Error {
  readonly code = 'INVALID_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidResourceError';
  }
}

const RESOLUTION = 10_000;
/** Above this, quantities are byte counts and are rounded to whole units. */
const WHOLE_UNITS_ABOVE = 1e11;
const NAME = /^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$/;

/** Round a quantity to the fixed-point grid. */
export function normalizeQuantity(quantity: number): number {
  if (Math.abs(quantity) >= WHOLE_UNITS_ABOVE) return Math.round(quantity);
  return Math.round(quantity * RESOLUTION) / RESOLUTION;
}

/** Throws InvalidResourceError unless `name` can name a resource. */
export function validateResourceName(name: unknown, what = 'resource'): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidResourceError(
      `${what} name ${JSON.stringify(name)} is invalid: use letters, digits, '_', '.', ':', '/' or '-', starting with a letter or '_' (at most 128 characters)`,
    );
  }
}

/** Throws InvalidResourceError unless `quantity` is a finite number ≥ 0. */
export function validateQuantity(
  name: string,
  quantity: unknown,
  what = 'resource',
): asserts quantity is number {
  if (typeof quantity !== 'number' || !Number.isFinite(quantity) || quantity < 0) {
    throw new InvalidResourceError(
      `${what} ${JSON.stringify(name)} has quantity ${String(quantity)}: a quantity must be a finite number ≥ 0`,
    );
  }
}

export type ResourceInput = ResourceSet | Readonly<Record<string, number>> | ReadonlyMap<string, number>;

export class ResourceSet {
  static readonly EMPTY = new ResourceSet(new Map());

  private readonly quantities: ReadonlyMap<string, number>;

  private constructor(quantities: Map<string, number>) {
    this.quantities = quantities;
  }

  /** Validate and build. Zero quantities are dropped. `what` names the input in errors. */
  static from(input: ResourceInput | null | undefined, what = 'resource'): ResourceSet {
    if (input instanceof ResourceSet) return input;
    if (input === null || input === undefined) return ResourceSet.EMPTY;
    if (typeof input !== 'object') {
      throw new InvalidResourceError(`${what}s must be an object of name → quantity, got ${typeof input}`);
    }
    const entries = input instanceof Map ? [...input.entries()] : Object.entries(input);
    const map = new Map<string, number>();
    for (const [name, quantity] of entries) {
      validateResourceName(name, what);
      validateQuantity(name, quantity, what);
      const q = normalizeQuantity(quantity);
      if (q > 0) map.set(name, q);
    }
    return new ResourceSet(map);
  }

  /** Build from trusted, already-normalized entries (internal arithmetic). */
  private static of(map: Map<string, number>): ResourceSet {
    for (const [name, q] of map) if (q === 0) map.delete(name);
    return map.size === 0 ? ResourceSet.EMPTY : new ResourceSet(map);
  }

  get(name: string): number {
    return this.quantities.get(name) ?? 0;
  }

  has(name: string): boolean {
    return this.quantities.has(name);
  }

  get names(): string[] {
    return [...this.quantities.keys()];
  }

  get isEmpty(): boolean {
    return this.quantities.size === 0;
  }

  entries(): IterableIterator<[string, number]> {
    return this.quantities.entries();
  }

  add(other: ResourceSet): ResourceSet {
    const map = new Map(this.quantities);
    for (const [name, q] of other.quantities) map.set(name, normalizeQuantity((map.get(name) ?? 0) + q));
    return ResourceSet.of(map);
  }

  /** This minus `other`; throws if any quantity would go below zero. */
  subtract(other: ResourceSet): ResourceSet {
    const map = new Map(this.quantities);
    for (const [name, q] of other.quantities) {
      const left = normalizeQuantity((map.get(name) ?? 0) - q);
      if (left < 0) {
        throw new InvalidResourceError(
          `cannot take ${q} ${name} from ${this.get(name)}: resources never go below zero`,
        );
      }
      map.set(name, left);
    }
    return ResourceSet.of(map);
  }

  /** True when every quantity of this set fits within `other`. */
  isSubsetOf(other: ResourceSet): boolean {
    for (const [name, q] of this.quantities) if (q > other.get(name)) return false;
    return true;
  }

  /** The part of this set that `other` lacks: for each short resource, what was asked. */
  missingFrom(other: ResourceSet): ResourceSet {
    const map = new Map<string, number>();
    for (const [name, q] of this.quantities) if (q > other.get(name)) map.set(name, q);
    return ResourceSet.of(map);
  }

  /** Only the named resources (or all but them, with `exclude`). */
  pick(names: readonly string[], exclude = false): ResourceSet {
    const map = new Map<string, number>();
    for (const [name, q] of this.quantities) if (names.includes(name) !== exclude) map.set(name, q);
    return ResourceSet.of(map);
  }

  equals(other: ResourceSet): boolean {
    if (other.quantities.size !== this.quantities.size) return false;
    for (const [name, q] of this.quantities) if (other.get(name) !== q) return false;
    return true;
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries(this.quantities);
  }

  /** `{"CPU": 2, "GPU": 1}`: sorted, the form error messages use. */
  toString(): string {
    const parts = [...this.quantities.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, q]) => `${JSON.stringify(name)}: ${q}`);
    return `{${parts.join(', ')}}`;
  }
}
