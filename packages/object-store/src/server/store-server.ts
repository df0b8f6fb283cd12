// StoreServer: a node's object store as a service. Hosted by the raylet; owns the native store
// and serves StoreService (store.proto) to the node's drivers and workers over a Unix socket
// with the framed transport of @tray/protocol. Payload bytes never cross the socket: clients
// map the segment and read or write at the offsets they are given.
//
// Promises: every argument from the wire is checked before C++ sees it (bad input gets a typed
// error, never a crash); a client that disconnects or dies gives back every reference it held
// and its unsealed creations are aborted; a get with a timeout waits for unsealed or not yet
// created objects and is answered when they are sealed or at the deadline; a create or a
// restore that finds no room first has every client collect its garbage (CollectionRounds: a
// second round when the first freed too little, none in the quiet period after a fruitless one)
// and is refused with ObjectStoreFullError only when that did not free enough.
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  apiErrors,
  type Connection,
  checkByteCount,
  type FramedServer,
  listen,
  StoreService,
  type tray,
  wireErrors,
} from '@tray/protocol';
import { ObjectNotFoundError } from '../errors.js';
import { loadNative, type NativeStats, type NativeStore, type NativeStoreInfo } from '../native.js';
import { checkObjectId, checkObjectIds, checkSize, checkTimeout } from '../validate.js';
import { CollectionRounds } from './collection-rounds.js';
import { GetWaiters, type Waiter } from './get-waiters.js';

export interface StoreServerOptions {
  /** Unix socket path to listen on. */
  socketPath: string;
  /** Bytes of shared memory (the segment's size). */
  capacity: number;
  /** Directory of the shared-memory segment (default /dev/shm). */
  shmDir?: string;
  /** Where the segment goes when shmDir has less free space than `capacity`. */
  fallbackDir?: string;
  /** Put the segment in fallbackDir even when shmDir has room (tests, diagnostics). */
  forceFallback?: boolean;
  /** Directory for spilled objects (default: <tmpdir>/tray-spill-<pid>). */
  spillDir?: string;
  /** Spill primary copies to disk when memory runs short (default true). */
  spilling?: boolean;
  /** Fraction of capacity above which primary copies are spilled (default 0.8). */
  spillThreshold?: number;
  /** Objects smaller than this share one spill file (default 1 MiB). */
  spillFuseBelow?: number;
  /** Spill at least this many bytes at once (default 8 MiB, capped at capacity/8). */
  spillMinBatch?: number;
  /** Most bytes to keep on disk; past it OutOfDiskError (default: no limit but the disk). */
  spillLimit?: number;
  /**
   * After a garbage-collection round that freed nothing (or too little), how long requests that
   * find no room are refused without another round, ms (default 1000; see collection-rounds.ts).
   */
  collectionQuietMs?: number;
  /** Where warnings go (default console). */
  logger?: { warn(message: string): void };
}

export type StoreStats = NativeStats;

/** One object the store holds (StoreServer.listObjects). */
export interface StoredObject {
  objectId: Buffer;
  /** Data and metadata bytes. */
  size: number;
  /** false while it is being written. */
  sealed: boolean;
  /** The owner's copy (spilled when the store is full); else a secondary copy. */
  primary: boolean;
  /** In a spill file on disk, not in memory. */
  spilled: boolean;
  /** A client reads it now. */
  inUse: boolean;
}

const ID_BYTES = 28;

interface ClientState {
  id: number;
  pid: number;
}

const MiB = 1024 * 1024;

export class StoreServer {
  private nextClient = 1;
  private closed = false;
  private readonly waiters = new GetWaiters();
  private readonly collection: CollectionRounds;
  private readonly exitHook = () => this.native.close();

  private constructor(
    private readonly native: NativeStore,
    readonly info: NativeStoreInfo,
    private server: FramedServer | undefined,
    readonly socketPath: string,
    collectionQuietMs?: number,
  ) {
    this.collection = new CollectionRounds(collectionQuietMs);
  }

  /** Creates the segment and starts serving on `options.socketPath`. */
  static async start(options: StoreServerOptions): Promise<StoreServer> {
    if (typeof options?.socketPath !== 'string' || options.socketPath === '') {
      throw new TypeError('socketPath must be a non-empty string (a Unix socket path)');
    }
    checkByteCount(options.capacity, 'capacity', Number.MAX_SAFE_INTEGER, apiErrors);
    if (options.capacity < 4096)
      throw new RangeError(`capacity must be at least 4096 bytes, got ${options.capacity}`);
    const quiet = options.collectionQuietMs;
    if (quiet !== undefined && !(Number.isFinite(quiet) && quiet >= 0)) {
      throw new RangeError(`collectionQuietMs must be a number of ms ≥ 0, got ${String(quiet)}`);
    }
    const threshold = options.spillThreshold ?? 0.8;
    if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) {
      throw new RangeError(`spillThreshold must be a number in (0, 1], got ${String(threshold)}`);
    }
    const native = loadNative();
    const store = new native.NativeStore(
      options.capacity,
      options.shmDir ?? '/dev/shm',
      options.fallbackDir ?? path.join(os.tmpdir(), 'tray-store'),
      options.forceFallback ?? false,
      options.spillDir ?? path.join(os.tmpdir(), `tray-spill-${process.pid}`),
      options.spilling ?? true,
      threshold,
      options.spillFuseBelow ?? MiB,
      options.spillMinBatch ?? Math.min(8 * MiB, Math.floor(options.capacity / 8)),
      options.spillLimit ?? 0,
      'tray-store',
    );
    const info = store.info();
    if (info.fallbackToDisk) {
      const logger = options.logger ?? console;
      const why = options.forceFallback
        ? 'because forceFallback is set'
        : `because ${options.shmDir ?? '/dev/shm'} has ${Math.floor(info.shmFreeBytes / MiB)} MiB free, ` +
          `less than the ${Math.floor(info.capacity / MiB)} MiB asked for`;
      logger.warn(
        `tray object store: the shared-memory segment is a file on disk (${info.segmentPath}) ${why}; ` +
          'objects are slower to read and write. To fix it give /dev/shm more room ' +
          '(containers: `docker run --shm-size=<bytes>`, Kubernetes: an emptyDir with medium Memory) ' +
          'or ask for a smaller objectStoreMemory.',
      );
    }
    const server = new StoreServer(store, info, undefined, options.socketPath, options.collectionQuietMs);
    try {
      rmSync(options.socketPath, { force: true });
      server.server = await listen(options.socketPath, (connection) => server.accept(connection), {
        label: 'store client',
      });
    } catch (err) {
      store.close();
      throw err;
    }
    process.once('exit', server.exitHook);
    return server;
  }

  get segmentPath(): string {
    return this.info.segmentPath;
  }

  get fallbackToDisk(): boolean {
    return this.info.fallbackToDisk;
  }

  stats(): StoreStats {
    return this.native.stats();
  }

  /** Up to `limit` of the objects held (in no particular order), and how many there are. */
  listObjects(limit: number): { objects: StoredObject[]; total: number } {
    if (!Number.isInteger(limit) || limit < 0)
      throw new RangeError(`limit must be a whole number ≥ 0, got ${limit}`);
    const { ids, sizes, flags, total } = this.native.list(limit);
    const objects: StoredObject[] = [];
    for (let i = 0; i < sizes.length; i++) {
      const f = flags[i]!;
      objects.push({
        objectId: ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES),
        size: sizes[i]!,
        sealed: (f & 1) !== 0,
        primary: (f & 2) !== 0,
        spilled: (f & 4) !== 0,
        inUse: (f & 8) !== 0,
      });
    }
    return { objects, total };
  }

  /** Times the store asked its clients to collect garbage to make room. */
  get collectionRounds(): number {
    return this.collection.rounds;
  }

  /** Stops serving, answers pending gets, and removes the segment and spill files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiters.close();
    await this.server?.close();
    process.removeListener('exit', this.exitHook);
    this.native.close();
  }

  private accept(connection: Connection): void {
    const client: ClientState = { id: this.nextClient++, pid: 0 };
    connection.context = client;
    connection.label = `store client ${client.id}`;
    this.collection.add(connection);
    connection.on('close', () => {
      this.waiters.dropClient(client.id);
      if (!this.closed) this.native.disconnect(client.id);
    });
    const store = this.native;
    const capacity = this.info.capacity;

    connection.handle(StoreService.Connect, (req) => {
      client.pid = req.pid;
      return { segmentPath: this.info.segmentPath, capacity, fallbackToDisk: this.info.fallbackToDisk };
    });

    connection.handle(StoreService.Create, (req) => {
      checkObjectId(req.objectId, 'objectId', wireErrors);
      checkSize(req.dataSize, 'dataSize', capacity, wireErrors);
      checkSize(req.metadataSize, 'metadataSize', capacity, wireErrors);
      const create = () => ({
        offset: store.create(req.objectId, req.dataSize, req.metadataSize, req.primary, client.id),
      });
      return this.collection.withRoom(() => {
        const bytes = req.dataSize + req.metadataSize;
        const [fresh, read] = store.placement?.(bytes) ?? [0, 0];
        if (!this.collection.roundBeforeFresh(bytes, fresh === 1, read)) return create();
        // The clients collect first, then the create (collection-rounds.ts).
        return this.collection.collect().then(() => this.collection.withRoom(create));
      });
    });

    const seal = (req: tray.v1.StoreSealRequest) => {
      checkObjectId(req.objectId, 'objectId', wireErrors);
      store.seal(req.objectId);
      this.waiters.sealed(req.objectId, (waiting) => locate(req.objectId, waiting));
      return {};
    };
    connection.handle(StoreService.Seal, seal);
    connection.handleNotify(StoreService.Seal, seal);

    const locate = (id: Uint8Array, owner: number): tray.v1.IStoreObjectLocation | undefined => {
      const found = store.get(id, owner);
      if (!found) return undefined;
      return { objectId: id, found: true, offset: found[0], dataSize: found[1], metadataSize: found[2] };
    };

    connection.handle(StoreService.Get, (req) => {
      checkObjectIds(req.objectIds, 'objectIds', wireErrors);
      const timeoutMs = checkTimeout(req.timeoutMs, 'timeoutMs', wireErrors);
      return this.collection.withRoom(() => serveGet(req, timeoutMs));
    });

    const serveGet = (
      req: tray.v1.StoreGetRequest,
      timeoutMs: number,
    ): tray.v1.IStoreGetReply | Promise<tray.v1.IStoreGetReply> => {
      const objects: tray.v1.IStoreObjectLocation[] = [];
      const missing = new Map<string, number[]>();
      try {
        for (let i = 0; i < req.objectIds.length; i++) {
          const id = req.objectIds[i]!;
          const location = locate(id, client.id);
          if (location) {
            objects.push(location);
          } else {
            objects.push({ objectId: id, found: false });
            const key = Buffer.from(id).toString('latin1');
            const slots = missing.get(key);
            if (slots) slots.push(i);
            else missing.set(key, [i]);
          }
        }
      } catch (err) {
        // Restoring one object failed: give back what this request took, then report.
        for (const taken of objects) if (taken.found) store.release(taken.objectId!, client.id);
        throw err;
      }
      if (missing.size === 0 || timeoutMs === 0 || this.closed) return { objects };
      return new Promise<tray.v1.IStoreGetReply>((resolve) => {
        const waiter: Waiter = {
          client: client.id,
          objects,
          missing,
          resolve: (found) => resolve({ objects: found }),
          timer: undefined,
        };
        this.waiters.add(waiter, timeoutMs);
      });
    };

    const release = (req: tray.v1.StoreReleaseRequest) => {
      checkObjectIds(req.objectIds, 'objectIds', wireErrors);
      for (const id of req.objectIds) store.release(id, client.id);
      this.collection.released(req.objectIds.length);
      return {};
    };
    connection.handle(StoreService.Release, release);
    connection.handleNotify(StoreService.Release, release);

    connection.handle(StoreService.Delete, (req) => {
      checkObjectIds(req.objectIds, 'objectIds', wireErrors);
      const deferred: Uint8Array[] = [];
      let failure: unknown;
      for (const id of req.objectIds) {
        try {
          if (store.delete(id)) deferred.push(id);
        } catch (err) {
          // Deleting what is already gone is fine (frees race with each other); other errors
          // are reported once every id has been tried.
          if (!(err instanceof ObjectNotFoundError)) failure ??= err;
        }
      }
      if (failure) throw failure;
      return { deferred };
    });

    connection.handle(StoreService.Contains, (req) => {
      checkObjectId(req.objectId, 'objectId', wireErrors);
      return { sealed: store.contains(req.objectId) };
    });

    connection.handle(StoreService.Abort, (req) => {
      checkObjectId(req.objectId, 'objectId', wireErrors);
      store.abort(req.objectId, client.id);
      return {};
    });

    connection.handle(StoreService.Stats, () => store.stats());
  }
}
