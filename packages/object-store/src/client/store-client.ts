// StoreClient: how a driver or worker uses its node's object store. Talks StoreService to the
// StoreServer over a Unix socket and maps the store's segment itself, so payloads are never
// copied through the socket: get() returns views over the shared memory (copy-on-write, so a
// sealed object cannot be changed through them), create() a writable window into it.
//
// Gets issued in the same tick are sent as one Get request; releases are batched likewise.
// When the store runs out of room it may ask this client to collect garbage (CollectGarbage):
// views the program dropped give their objects back before the store refuses a create or a
// restore, so no caller sees ObjectStoreFullError only because the collector had not run yet.
import { apiErrors, type Connection, checkBytesLike, connect, StoreService } from '@tray/protocol';
import { fromRemote, ObjectExistsError, ObjectNotFoundError } from '../errors.js';
import { loadNative, type NativeAddon, type NativeStats } from '../native.js';
import { asBytes, checkObjectId, checkObjectIds, checkSize, checkTimeout, idKey } from '../validate.js';
import { collectGarbage } from './collect-garbage.js';
import { copyInto } from './copy.js';
import { HeldObjects, type Location, type StoreObject } from './held-objects.js';

export type { StoreObject } from './held-objects.js';

/** An object being written: write `data` and `metadata`, then seal() it. */
export interface CreatedObject {
  readonly id: Uint8Array;
  readonly buffer: ArrayBuffer;
  readonly data: Uint8Array;
  readonly metadata: Uint8Array;
}

export interface CreateOptions {
  /** The owner's copy (default true): never evicted, spilled to disk instead. */
  primary?: boolean;
}

export interface GetOptions {
  /** How long to wait for objects not sealed yet: 0 (default) answers at once, -1 waits forever. */
  timeoutMs?: number;
}

export interface StoreClientOptions {
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
}

const VIEWS_SOFT_LIMIT = 16_384;
const VIEWS_HARD_LIMIT = 50_000;

interface GetBatch {
  ids: Uint8Array[];
  keys: Map<string, number>;
  /** Slots whose store reference a caller adopted. */
  adopted: Set<number>;
  done: Promise<Array<Location | undefined>>;
}

export class StoreClient {
  private readonly held: HeldObjects;
  private readonly creating = new Map<string, ArrayBuffer>();
  private readonly batches = new Map<number, GetBatch>();
  private closed = false;
  /** The segment mapped shared once: create() windows are cut from it. */
  private readonly segment: object;

  private constructor(
    private readonly connection: Connection,
    private readonly native: NativeAddon,
    private readonly fd: number,
    /** Bytes of the store: the largest object it can hold. */
    readonly capacity: number,
    readonly segmentPath: string,
    readonly fallbackToDisk: boolean,
  ) {
    this.segment = native.mapSegment(fd, capacity);
    // The store aborts what a lost client was creating and may reuse that memory at once:
    // windows into it must not outlive the connection.
    connection.on('close', () => this.dropAllWritable());
    this.held = new HeldObjects(native, fd, native.mapPrivateSegment(fd, capacity), (ids) => {
      connection.notify(StoreService.Release, { objectIds: ids });
    });
    connection.handle(StoreService.CollectGarbage, async () => {
      await collectGarbage();
      // The Releases go out before the reply, on the same connection: the store has applied
      // them when it reads the answer.
      this.held.flush();
      return { heldObjects: this.held.size };
    });
  }

  static async connect(socketPath: string, options: StoreClientOptions = {}): Promise<StoreClient> {
    if (typeof socketPath !== 'string' || socketPath === '') {
      throw new TypeError("socketPath must be a non-empty string (the store's Unix socket)");
    }
    const native = loadNative();
    const connection = await connect(socketPath, {
      timeoutMs: options.connectTimeoutMs,
      label: 'object store',
    });
    try {
      const reply = await connection.request(StoreService.Connect, { pid: process.pid });
      const fd = native.openSegment(reply.segmentPath);
      return new StoreClient(connection, native, fd, reply.capacity, reply.segmentPath, reply.fallbackToDisk);
    } catch (err) {
      connection.close();
      throw fromRemote(err);
    }
  }

  /** Reserves an object of dataSize + metadataSize bytes; write it, then seal() it. */
  async create(
    id: Uint8Array,
    dataSize: number,
    metadataSize = 0,
    options: CreateOptions = {},
  ): Promise<CreatedObject> {
    checkObjectId(id);
    checkSize(dataSize, 'dataSize', this.capacity);
    checkSize(metadataSize, 'metadataSize', this.capacity);
    if (dataSize + metadataSize > this.capacity) {
      throw new RangeError(
        `dataSize + metadataSize must be at most ${this.capacity} bytes (the store's capacity), got ${dataSize + metadataSize}`,
      );
    }
    const key = idKey(id);
    if (this.creating.has(key))
      throw new ObjectExistsError(`object ${hex(id)} is already being created by this client`);
    const { offset } = await this.call(StoreService.Create, {
      objectId: id,
      dataSize,
      metadataSize,
      primary: options.primary ?? true,
    });
    const buffer = this.native.window(this.segment, offset, dataSize + metadataSize);
    this.creating.set(key, buffer);
    return {
      id,
      buffer,
      data: new Uint8Array(buffer, 0, dataSize),
      metadata: new Uint8Array(buffer, dataSize, metadataSize),
    };
  }

  /** Makes a created object immutable and visible; its writable buffer is detached. */
  async seal(id: Uint8Array): Promise<void> {
    checkObjectId(id);
    this.dropWritable(id);
    await this.call(StoreService.Seal, { objectId: id });
  }

  /** Gives up an object created and not sealed. */
  async abort(id: Uint8Array): Promise<void> {
    checkObjectId(id);
    this.dropWritable(id);
    await this.call(StoreService.Abort, { objectId: id });
  }

  /** create + copy + seal. */
  async put(
    id: Uint8Array,
    data: Uint8Array | ArrayBuffer | ArrayBufferView,
    metadata?: Uint8Array | ArrayBuffer | ArrayBufferView,
    options: CreateOptions = {},
  ): Promise<void> {
    checkObjectId(id);
    checkBytesLike(data, 'data', apiErrors);
    if (metadata !== undefined) checkBytesLike(metadata, 'metadata', apiErrors);
    const bytes = asBytes(data);
    const meta = metadata === undefined ? undefined : asBytes(metadata);
    const created = await this.create(id, bytes.byteLength, meta?.byteLength ?? 0, options);
    try {
      copyInto(created.data, bytes);
      if (meta) created.metadata.set(meta);
    } catch (err) {
      await this.abort(id).catch(() => {});
      throw err;
    }
    // Sealed with a one-way message: nothing can fail that the creator could act on, and
    // later requests on this connection are served after it, in order.
    this.dropWritable(id);
    this.connection.notify(StoreService.Seal, { objectId: id });
  }

  /**
   * create + write + seal of an object laid out in parts: each `[offset, bytes]` goes to that
   * offset of the object's `dataSize` bytes (bytes between parts are left as the store has
   * them). The parts go straight into the store's memory, with no writable window: V8 counts a
   * window's length as external memory, so one of 64 MiB or more may start a major collection
   * when it is made and when it is detached (a third of a put's cost beside its copy).
   */
  async putParts(
    id: Uint8Array,
    dataSize: number,
    parts: ReadonlyArray<readonly [number, Uint8Array]>,
    options: CreateOptions = {},
  ): Promise<void> {
    checkObjectId(id);
    checkSize(dataSize, 'dataSize', this.capacity);
    if (!Array.isArray(parts)) throw new TypeError('parts must be an array of [offset, Uint8Array] pairs');
    parts.forEach(([at, bytes], i) => {
      if (!(bytes instanceof Uint8Array)) throw new TypeError(`parts[${i}][1] must be a Uint8Array`);
      if (!Number.isSafeInteger(at) || at < 0 || at + bytes.length > dataSize) {
        throw new RangeError(
          `parts[${i}] (offset ${at}, ${bytes.length} bytes) must lie within the object's ${dataSize} bytes`,
        );
      }
    });
    const write = this.native.writeSegment;
    if (write === undefined) {
      // An addon built before writeSegment: through a window.
      const created = await this.create(id, dataSize, 0, options);
      try {
        for (const [at, bytes] of parts) copyInto(created.data, bytes, at);
      } catch (err) {
        await this.abort(id).catch(() => {});
        throw err;
      }
      await this.seal(id);
      return;
    }
    const { offset } = await this.call(StoreService.Create, {
      objectId: id,
      dataSize,
      metadataSize: 0,
      primary: options.primary ?? true,
    });
    try {
      for (const [at, bytes] of parts) write.call(this.native, this.segment, offset + at, bytes);
    } catch (err) {
      await this.call(StoreService.Abort, { objectId: id }).catch(() => {});
      throw err;
    }
    await this.call(StoreService.Seal, { objectId: id });
  }

  /** One object; ObjectNotFoundError when it is not sealed by the deadline. */
  async get(id: Uint8Array, options?: GetOptions): Promise<StoreObject> {
    // getMany for one id, without its arrays and closures: the id's key is made once and the
    // caller waits on its batch's promise only (a small get's client CPU is most of its cost).
    checkObjectId(id);
    const timeoutMs = options?.timeoutMs === undefined ? 0 : checkTimeout(options.timeoutMs);
    this.checkOpen();
    if (this.native.liveMappings() >= VIEWS_SOFT_LIMIT) await this.roomForViews(1);
    const key = idKey(id);
    const view = this.held.viewIfHeld(id, key);
    if (view) return view;
    const batch = this.batchFor(timeoutMs);
    let slot = batch.keys.get(key);
    if (slot === undefined) {
      slot = batch.ids.length;
      batch.keys.set(key, slot);
      batch.ids.push(id);
    }
    const location = (await batch.done)[slot];
    let object: StoreObject | undefined;
    if (location && !batch.adopted.has(slot)) {
      batch.adopted.add(slot);
      object = this.held.adopt(id, location, key);
    } else if (location) {
      object = this.held.viewIfHeld(id, key);
    }
    if (!object) throw new ObjectNotFoundError(`object ${hex(id)} is not in the store`);
    return object;
  }

  /** Several objects, in order; undefined for those not sealed by the deadline. */
  async getMany(ids: Uint8Array[], options: GetOptions = {}): Promise<Array<StoreObject | undefined>> {
    checkObjectIds(ids);
    const timeoutMs = checkTimeout(options.timeoutMs ?? 0);
    this.checkOpen();
    await this.roomForViews(ids.length);
    const result: Array<StoreObject | undefined> = new Array(ids.length);
    const ask: number[] = [];
    const askKeys: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const key = idKey(ids[i]!);
      const view = this.held.viewIfHeld(ids[i]!, key);
      if (view) result[i] = view;
      else {
        ask.push(i);
        askKeys.push(key);
      }
    }
    if (ask.length === 0) return result;
    const batch = this.batchFor(timeoutMs);
    const slots = ask.map((i, j) => {
      const key = askKeys[j]!;
      let slot = batch.keys.get(key);
      if (slot === undefined) {
        slot = batch.ids.length;
        batch.keys.set(key, slot);
        batch.ids.push(ids[i]!);
      }
      return slot;
    });
    const locations = await batch.done;
    for (let j = 0; j < ask.length; j++) {
      const i = ask[j]!;
      const slot = slots[j]!;
      const location = locations[slot];
      // Each found slot carries one reference the store took for this client: exactly one caller
      // adopts it (adopt gives it back when another batch's get holds the object already, else
      // it would pin the object forever); the other callers sharing the slot view the held object.
      if (location && !batch.adopted.has(slot)) {
        batch.adopted.add(slot);
        result[i] = this.held.adopt(ids[i]!, location, askKeys[j]);
      } else {
        result[i] = location ? this.held.viewIfHeld(ids[i]!, askKeys[j]) : undefined;
      }
    }
    return result;
  }

  /** Gives a view back now (its bytes become unreachable); otherwise GC does it. */
  release(object: StoreObject): void {
    this.held.release(object);
  }

  /** Deletes objects; returns those deferred until their last reader releases them. */
  async delete(ids: Uint8Array | Uint8Array[]): Promise<Uint8Array[]> {
    const list = Array.isArray(ids) ? ids : [ids];
    checkObjectIds(list, Array.isArray(ids) ? 'ids' : 'id');
    this.held.flush();
    for (const id of list) this.held.deleted(id);
    const reply = await this.call(StoreService.Delete, { objectIds: list });
    return reply.deferred;
  }

  /** True when the object is in the store and sealed. */
  async contains(id: Uint8Array): Promise<boolean> {
    checkObjectId(id);
    return (await this.call(StoreService.Contains, { objectId: id })).sealed;
  }

  async stats(): Promise<NativeStats> {
    const s = await this.call(StoreService.Stats, {});
    return {
      capacity: Number(s.capacity),
      usedBytes: Number(s.usedBytes),
      pinnedBytes: Number(s.pinnedBytes),
      numObjects: Number(s.numObjects),
      numPinned: Number(s.numPinned),
      spilledBytes: Number(s.spilledBytes),
      spilledObjects: Number(s.spilledObjects),
      restoredBytes: Number(s.restoredBytes),
      restoredObjects: Number(s.restoredObjects),
      evictedBytes: Number(s.evictedBytes),
      evictedObjects: Number(s.evictedObjects),
      spillDiskBytes: Number(s.spillDiskBytes),
      fallbackToDisk: Boolean(s.fallbackToDisk),
    };
  }

  /** Objects this client holds views of. */
  get heldObjects(): number {
    return this.held.size;
  }

  /** Sends pending releases and disconnects; the store drops this client's references. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.held.flush();
    this.dropAllWritable();
    this.connection.close();
    this.native.closeSegment(this.fd);
  }

  /**
   * Each view is a kernel map entry and a process has about 65,000. Past a soft limit, let the
   * event loop turn so views the collector already dropped get unmapped; past the hard limit,
   * fail with a clear error instead of letting mmap (V8's included) run out.
   */
  private async roomForViews(wanted: number): Promise<void> {
    if (this.native.liveMappings() + wanted <= VIEWS_SOFT_LIMIT) return;
    for (let turn = 0; turn < 3 && this.native.liveMappings() + wanted > VIEWS_SOFT_LIMIT; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const live = this.native.liveMappings();
    if (live + wanted > VIEWS_HARD_LIMIT) {
      throw new RangeError(
        `this process holds ${live} views of store objects; release some (client.release(object)) ` +
          `before getting ${wanted} more (each view is one of the process's ~65,000 memory mappings)`,
      );
    }
  }

  private batchFor(timeoutMs: number): GetBatch {
    const batch = this.batches.get(timeoutMs);
    if (batch) return batch;
    const ids: Uint8Array[] = [];
    const fresh: GetBatch = {
      ids,
      keys: new Map(),
      adopted: new Set(),
      done: Promise.resolve().then(async () => {
        this.batches.delete(timeoutMs);
        const reply = await this.call(StoreService.Get, { objectIds: ids, timeoutMs });
        const locations: Array<Location | undefined> = reply.objects.map((o) =>
          o.found
            ? {
                offset: Number(o.offset ?? 0),
                dataSize: Number(o.dataSize ?? 0),
                metadataSize: Number(o.metadataSize ?? 0),
                clean: false,
              }
            : undefined,
        );
        this.held.checkClean(locations);
        return locations;
      }),
    };
    this.batches.set(timeoutMs, fresh);
    return fresh;
  }

  private dropAllWritable(): void {
    for (const buffer of this.creating.values()) this.native.detach(buffer);
    this.creating.clear();
  }

  private dropWritable(id: Uint8Array): void {
    const key = idKey(id);
    const buffer = this.creating.get(key);
    if (buffer) {
      this.creating.delete(key);
      this.native.detach(buffer);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the store client is closed');
  }

  private async call<Req, Res>(
    method: import('@tray/protocol').MethodDef<Req, Res>,
    request: import('@tray/protocol').Message<Req>,
  ): Promise<Res> {
    this.checkOpen();
    this.held.flush(); // pending releases ride along in the same write
    try {
      return await this.connection.request(method, request);
    } catch (err) {
      throw fromRemote(err);
    }
  }
}

function hex(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}
