// ObjectRef: a reference to an object and the process that owns it. It is deliberately not a
// thenable (an async function returning a ref keeps it a ref). Each instance counts as one local
// reference of its process; a FinalizationRegistry reports instances the garbage collector took,
// so dropping the last ref frees the object (reference counting, runtime/reference-counter.ts).
// Each instance is also its own unregister token: releaseRef drops its local reference at once,
// exactly once, instead of waiting for the collector (tray.experimental.release).
import type { tray } from '@tray/protocol';
import { OBJECT_ID_BYTES, hex as toHex } from './ids.js';

const OBJECT_REF_BRAND = Symbol.for('tray.ObjectRef');

/** What the process's core worker does when refs appear and disappear. */
export interface RefTracker {
  addLocalRef(ref: ObjectRef<unknown>): void;
  removeLocalRef(idHex: string): void;
}

const TRACKER_KEY = Symbol.for('tray.refTracker');
type GlobalWithTracker = typeof globalThis & { [TRACKER_KEY]?: RefTracker };

/** The tracker of this process (shared by every copy of @tray/core loaded in it). */
export function setRefTracker(tracker: RefTracker | undefined): void {
  (globalThis as GlobalWithTracker)[TRACKER_KEY] = tracker;
}

function currentTracker(): RefTracker | undefined {
  return (globalThis as GlobalWithTracker)[TRACKER_KEY];
}

// One registry per tracker, its held value the id's hex alone: registering a ref allocates no
// per-ref holder object. A tracker's registry lives as long as the tracker (so refs made under
// it still report their collection); the current one is cached.
const registries = new WeakMap<RefTracker, FinalizationRegistry<string>>();
let registryTracker: RefTracker | undefined;
let registry: FinalizationRegistry<string> | undefined;

function registryOf(tracker: RefTracker): FinalizationRegistry<string> {
  if (registryTracker !== tracker || registry === undefined) {
    registryTracker = tracker;
    registry = registries.get(tracker);
    if (registry === undefined) {
      registry = new FinalizationRegistry<string>((idHex) => tracker.removeLocalRef(idHex));
      registries.set(tracker, registry);
    }
  }
  return registry;
}

export class ObjectRef<T = unknown> {
  /** Type-only: the value this ref resolves to. */
  declare private readonly __value?: T;
  #id: Buffer | undefined;
  readonly ownerAddress: tray.v1.IAddress | undefined;
  /** Set for the items of a streaming generator. */
  readonly fromGenerator: boolean;
  #hex: string | undefined;

  /**
   * @internal Refs are made by `remote()` and `put()`, not by users. Either `id` or `idHex` is
   * given; the other is made when first asked for.
   */
  constructor(
    id: Uint8Array | undefined,
    ownerAddress?: tray.v1.IAddress | null,
    fromGenerator = false,
    idHex?: string,
  ) {
    if (id === undefined && idHex === undefined) throw new TypeError('ObjectRef needs an id');
    this.#id =
      id === undefined || Buffer.isBuffer(id) ? id : Buffer.from(id.buffer, id.byteOffset, id.byteLength);
    this.ownerAddress = ownerAddress ?? undefined;
    this.fromGenerator = fromGenerator;
    this.#hex = idHex;
    const tracker = currentTracker();
    if (tracker !== undefined) {
      tracker.addLocalRef(this);
      registryOf(tracker).register(this, this.hex(), this);
    }
  }

  /** The object id's bytes. */
  get id(): Buffer {
    if (this.#id === undefined) this.#id = Buffer.from(this.#hex!, 'hex');
    return this.#id;
  }

  /** The object id, as hex. */
  hex(): string {
    if (this.#hex === undefined) this.#hex = toHex(this.#id!);
    return this.#hex;
  }

  toString(): string {
    return `ObjectRef(${this.hex()})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return isObjectRef(value);
  }
}

// The brand lives on the prototype: every instance has it without a per-instance property.
Object.defineProperty(ObjectRef.prototype, OBJECT_REF_BRAND, { value: true });

/** Refs given to releaseRef: using one afterwards is an error that says so. */
const releasedRefs = new WeakSet<ObjectRef<unknown>>();

/**
 * Drops `ref`'s local reference now rather than when the collector takes the instance. The
 * registry's unregister succeeds once per instance and never after its finalizer ran, so a
 * second release, or one of a ref already collected or made under another tracker (a previous
 * init), does nothing. Returns true when a reference was dropped.
 */
export function releaseRef(ref: ObjectRef<unknown>): boolean {
  releasedRefs.add(ref);
  const tracker = currentTracker();
  if (tracker === undefined) return false;
  const reg = registries.get(tracker);
  if (reg === undefined || !reg.unregister(ref)) return false;
  tracker.removeLocalRef(ref.hex());
  return true;
}

export function isReleased(ref: ObjectRef<unknown>): boolean {
  return releasedRefs.has(ref);
}

/**
 * Why `ref` cannot name an object of this cluster (undefined when it can): every ref made by
 * `remote()`, `put()` or deserialization has a 28-byte id and its owner's address. A ref built by
 * hand without them would otherwise wait for an object nobody will ever make.
 */
export function invalidRefReason(ref: ObjectRef<unknown>): string | undefined {
  if (releasedRefs.has(ref)) {
    return 'it was released (tray.experimental.release); keep the ref, or another one of the same object, until you are done with it';
  }
  // From the hex, which every tracked ref has: asking for `id` would make a ref's id bytes (128
  // bytes of heap) for each ref a get or a task argument checks.
  const length = ref.hex().length / 2;
  if (length !== OBJECT_ID_BYTES) {
    return `its id has ${length} bytes, an ObjectID has ${OBJECT_ID_BYTES} (refs come from remote() and put(), not new ObjectRef())`;
  }
  if (ref.ownerAddress?.workerId == null) {
    return 'it names no owner (refs come from remote() and put(), not new ObjectRef())';
  }
  return undefined;
}

/** A forged ref passed to a task or actor call: refused at once, not waited for by the worker. */
export function checkArgRef(ref: ObjectRef<unknown>, label: string): void {
  const why = invalidRefReason(ref);
  if (why !== undefined) throw new TypeError(`${label} (${ref.hex()}) is not a valid ObjectRef: ${why}`);
}

export function isObjectRef(value: unknown): value is ObjectRef<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[OBJECT_REF_BRAND] === true
  );
}
