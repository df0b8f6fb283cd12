// HeldObjects: the objects a client process holds references to, and the views it handed out
// over them. The store counts one reference per client for an object while any view of it is
// alive here; further gets of a held object are answered locally (its location cannot change
// while referenced). Views are copy on write: writing through one changes neither the store nor
// another process, nor a later get's view. Small views are cut from one private mapping of the
// segment (no syscall but a pagemap check); large ones, and any range a view of this process
// wrote into, get their own mapping (addon.cc, view()). A view is given back by release() (which detaches it:
// its bytes become unreachable at once) or when the garbage collector drops it; when the last
// view of an object goes, one batched Release tells the store.
import type { NativeAddon } from '../native.js';
import { idKey } from '../validate.js';

export interface StoreObject {
  readonly id: Uint8Array;
  /** Data then metadata, mapped copy-on-write from the store's segment. */
  readonly buffer: ArrayBuffer;
  readonly data: Uint8Array;
  readonly metadata: Uint8Array;
}

interface Held {
  id: Uint8Array;
  offset: number;
  dataSize: number;
  metadataSize: number;
  views: number;
  /** Deleted by this client: further gets ask the store (which no longer serves it). */
  deleted: boolean;
}

export interface Location {
  offset: number;
  dataSize: number;
  metadataSize: number;
  /** Found unwritten by the batch's pagemap check (cleanRanges): the adopting view skips its own. */
  clean?: boolean;
}

export class HeldObjects {
  private readonly held = new Map<string, Held>();
  private readonly released = new WeakSet<StoreObject>();
  private readonly keys = new WeakMap<StoreObject, string>();
  private readonly collected = new FinalizationRegistry<string>((key) => this.dropView(key));
  private pendingRelease: Uint8Array[] = [];
  private flushScheduled = false;

  constructor(
    private readonly native: NativeAddon,
    private readonly fd: number,
    /** The segment mapped MAP_PRIVATE once (native.mapPrivateSegment): views are cut from it. */
    private readonly privateSegment: object,
    /** Sends a batch of Releases to the store. */
    private readonly sendRelease: (ids: Uint8Array[]) => void,
  ) {}

  /** A new view of an object this client already holds, or undefined. */
  viewIfHeld(id: Uint8Array, key = idKey(id)): StoreObject | undefined {
    const held = this.held.get(key);
    return held && !held.deleted ? this.view(key, held) : undefined;
  }

  /** This client deleted `id`: its live views stay valid, new gets go to the store. */
  deleted(id: Uint8Array): void {
    const held = this.held.get(idKey(id));
    if (held) held.deleted = true;
  }

  /** The store gave this client a reference: record it (or give back a duplicate) and view it. */
  adopt(id: Uint8Array, location: Location, key = idKey(id)): StoreObject {
    let held = this.held.get(key);
    if (held) {
      // Another get of the same object finished first: one reference per client is enough.
      this.queueRelease(held.id);
    } else {
      held = {
        id: Uint8Array.from(id),
        offset: location.offset,
        dataSize: location.dataSize,
        metadataSize: location.metadataSize,
        views: 0,
        deleted: false,
      };
      this.held.set(key, held);
      return this.view(key, held, location.clean === true);
    }
    return this.view(key, held);
  }

  release(object: StoreObject): void {
    const key = this.keys.get(object);
    if (key === undefined || this.released.has(object)) return;
    this.released.add(object);
    this.collected.unregister(object);
    this.native.detach(object.buffer);
    this.dropView(key);
  }

  /**
   * Marks the locations of a Get reply whose pages this process never wrote (one pagemap read
   * for the batch, native cleanRanges), so their first views need no pagemap read of their own.
   */
  checkClean(locations: ReadonlyArray<Location | undefined>): void {
    const check = this.native.cleanRanges;
    if (check === undefined || locations.length < 2) return;
    const n = locations.length;
    const offsets = new Float64Array(n);
    const lengths = new Float64Array(n);
    const clean = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const location = locations[i];
      if (location === undefined) continue;
      offsets[i] = location.offset;
      lengths[i] = location.dataSize + location.metadataSize;
    }
    check.call(this.native, this.privateSegment, offsets, lengths, clean);
    for (let i = 0; i < n; i++) {
      const location = locations[i];
      if (location !== undefined) location.clean = clean[i] === 1;
    }
  }

  /** Objects with live views (for stats and tests). */
  get size(): number {
    return this.held.size;
  }

  /** Sends what is queued now (before closing). */
  flush(): void {
    this.flushScheduled = false;
    if (this.pendingRelease.length === 0) return;
    const ids = this.pendingRelease;
    this.pendingRelease = [];
    this.sendRelease(ids);
  }

  private view(key: string, held: Held, clean = false): StoreObject {
    const buffer = this.native.view(
      this.privateSegment,
      this.fd,
      held.offset,
      held.dataSize + held.metadataSize,
      clean,
    );
    const object: StoreObject = {
      id: held.id,
      buffer,
      data: new Uint8Array(buffer, 0, held.dataSize),
      metadata: new Uint8Array(buffer, held.dataSize, held.metadataSize),
    };
    held.views += 1;
    this.keys.set(object, key);
    this.collected.register(buffer, key, object);
    return object;
  }

  private dropView(key: string): void {
    const held = this.held.get(key);
    if (!held) return;
    held.views -= 1;
    if (held.views > 0) return;
    this.held.delete(key);
    this.queueRelease(held.id);
  }

  private queueRelease(id: Uint8Array): void {
    this.pendingRelease.push(id);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }
}
