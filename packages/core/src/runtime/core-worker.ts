// The core worker: the part of tray inside every driver and worker process. It owns the objects
// this process creates (put, task returns), counts their references, submits tasks over worker
// leases, fetches values (its own, borrowed ones from their owners, large ones from the node's
// store) and serves CoreWorkerService to its peers. The user API (src/api) calls into it.

import {
  type Connection,
  CoreWorkerService,
  ErrorType,
  type FramedServer,
  listen,
  NodeManagerService,
  PeerConnections,
  RemoteError,
  type tray,
} from '@tray/protocol';
import { BorrowUpdates } from './borrow-updates.js';
import { recordCallSites, userCallSite } from './call-sites.js';
import type { CoreWorkerOptions } from './core-worker-options.js';
import { errorFromInfo, systemError } from './error-info.js';
import { hex, newTaskId, objectIdOf, PUT_INDEX_BASE } from './ids.js';
import { MemoryStore } from './memory-store.js';
import { NodeDeathWatch } from './node-death-watch.js';
import { ObjectFetcher } from './object-fetcher.js';
import { ObjectRef, setRefTracker } from './object-ref.js';
import { objectStats } from './object-stats.js';
import { ObjectStorage, storeError } from './object-storage.js';
import { decodeOwner, encodeOwner } from './owner-records.js';
import { serveOwnerMethods } from './owner-service.js';
import { type RefEntry, ReferenceCounter } from './reference-counter.js';
import { deserialize, type SerializedValue, serialize } from './serialization.js';
import { TaskEvents } from './task-events.js';
import { TaskLauncher } from './task-launcher.js';
import { TaskManager } from './task-manager.js';
import { TaskSubmitter } from './task-submitter.js';
import type { ValueCodec } from './value-codec.js';

export type { CoreWorkerOptions, FunctionCodec } from './core-worker-options.js';

export class CoreWorker {
  readonly mode: 'driver' | 'worker';
  jobId: Buffer;
  readonly workerId: Buffer;
  readonly workerIdHex: string;
  readonly nodeId: Buffer;
  readonly address: tray.v1.IAddress;
  readonly namespace: string;
  workingDir: string;
  readonly raylet: Connection;
  readonly token: string;
  readonly memoryStore = new MemoryStore();
  readonly refs: ReferenceCounter;
  readonly storage: ObjectStorage;
  readonly tasks: TaskManager;
  readonly submitter: TaskSubmitter;
  readonly peers: PeerConnections;
  readonly fetcher: ObjectFetcher;
  readonly launcher: TaskLauncher;
  readonly codec: ValueCodec;
  /** State changes of the tasks this process owns and runs, reported to the GCS (task-events.ts). */
  readonly taskEvents: TaskEvents;
  /** The task running now (workers), or the driver's own task id. */
  currentTaskId: Buffer;
  /** Depth of the running task in the task tree (the driver is 0). */
  currentDepth = 0;
  /** The runtime env tasks submitted from here start from: the job's (init), or the running task's. */
  defaultRuntimeEnv: tray.v1.IRuntimeEnv | undefined;
  /** Worker processes: the handlers of PushTask and CancelTask (set by the task executor). */
  executorHandlers: ((connection: Connection) => void) | undefined;
  private readonly putTaskId: Buffer;
  /** Owner addresses read from values, shared by every ref of one owner. */
  private readonly decodedOwners = new Map<string, tray.v1.IAddress>();
  private putIndex = 0;
  private server: FramedServer | undefined;
  private tcpServer: FramedServer | undefined;
  private readonly host: string;
  /** Other nodes' raylets this process leased workers from (spillback). */
  private readonly remoteRaylets: PeerConnections;
  private shutDown = false;
  /** What this process tells owners about its borrows (acknowledged adds; borrow-updates.ts). */
  readonly borrows: BorrowUpdates;

  constructor(options: CoreWorkerOptions) {
    this.mode = options.mode;
    this.jobId = options.jobId;
    this.workerId = options.workerId;
    this.workerIdHex = hex(options.workerId);
    this.nodeId = options.nodeId;
    this.host = options.host || process.env.TRAY_NODE_IP || '127.0.0.1';
    this.namespace = options.namespace;
    this.workingDir = options.workingDir;
    this.raylet = options.raylet;
    this.token = options.token;
    this.address = { nodeId: options.nodeId, workerId: options.workerId, socketPath: options.socketPath };
    this.currentTaskId = newTaskId(options.jobId);
    this.putTaskId = newTaskId(options.jobId);
    this.storage = new ObjectStorage(options.store);
    this.taskEvents = new TaskEvents({ workerId: options.workerId, nodeId: options.nodeId });
    if (options.taskEvents) this.taskEvents.reportTo(options.taskEvents);
    this.refs = new ReferenceCounter(
      {
        freeOwned: (idHex, entry) => this.freeOwned(idHex, entry),
        borrowStarted: (idHex, entry) => this.borrows.borrow(idHex, entry, true),
        borrowEnded: (idHex, entry) => {
          this.memoryStore.delete(idHex);
          this.borrows.borrow(idHex, entry, false);
        },
      },
      (owner) => owner === undefined || (owner.workerId != null && hex(owner.workerId) === this.workerIdHex),
    );
    const functions = options.functions;
    this.codec = {
      encodeOwner: (address) => encodeOwner(address ?? this.address),
      decodeRef: (id, owner, fromGenerator) =>
        new ObjectRef(id, decodeOwner(owner, this.decodedOwners), fromGenerator),
      encodeFunction: (fn, addRef) => functions.encode(fn, addRef),
      decodeFunction: (data, refs) => functions.decode(data, refs),
    };
    this.peers = new PeerConnections(options.token, (c) => this.serve(c), hex(options.nodeId));
    const warn = options.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
    this.borrows = new BorrowUpdates(this, warn);
    // A driver's connections never keep it alive (see serve()).
    this.remoteRaylets = new PeerConnections(
      options.token,
      (c) => {
        if (this.mode === 'driver') c.socket.unref();
      },
      hex(options.nodeId),
      'raylet',
    );
    this.tasks = new TaskManager(this.memoryStore, this.refs, {
      isLocalNode: (nodeId) => Buffer.compare(nodeId, this.nodeId) === 0,
      resubmit: (task) => this.submitter.submit(task, true),
      discard: (value) => {
        if (value.inPlasma && value.objectId) this.storage.delete([Buffer.from(value.objectId)]);
        if (value.nestedRefs && value.nestedRefs.length > 0) this.borrows.releaseDiscarded(value.nestedRefs);
      },
    });
    if (this.taskEvents.enabled) {
      this.tasks.events = this.taskEvents;
      this.taskEvents.beforeReport(() => this.tasks.settleEvents());
    }
    this.submitter = new TaskSubmitter({
      raylet: options.raylet,
      remoteRaylet: (address) => this.remoteRaylets.get(address),
      peers: this.peers,
      ownerAddress: this.address,
      tasks: this.tasks,
      warn,
      nodes: options.nodes,
    });
    if (options.nodes) {
      const watch = new NodeDeathWatch(options.nodes, [this.peers, this.remoteRaylets], warn);
      this.shutdownHooks.push(() => watch.close());
    }
    this.fetcher = new ObjectFetcher(this);
    this.launcher = new TaskLauncher(this);
    if (this.mode === 'driver') {
      options.raylet.socket.unref();
      (options.store as unknown as { connection?: Connection } | undefined)?.connection?.socket.unref();
    }
    options.raylet.handle(CoreWorkerService.GetCoreWorkerStats, (req) =>
      objectStats(this.refs, this.memoryStore, req.limit),
    );
    setRefTracker({
      addLocalRef: (ref) => this.refs.addLocalRef(ref.hex(), ref.ownerAddress),
      removeLocalRef: (idHex) => this.refs.removeLocalRef(idHex),
    });
  }

  /**
   * Start serving CoreWorkerService: on this process's Unix socket for peers on this node, and on
   * TCP at the node's IP (the `host` option) for peers on other nodes; the
   * address this process gives out carries both.
   */
  async listen(): Promise<void> {
    const options = { token: this.token, label: 'core worker peer' };
    const host = this.host;
    const [server, tcp] = await Promise.all([
      listen(this.address.socketPath!, (c) => this.serve(c), options),
      listen({ host, port: 0 }, (c) => this.serve(c), options),
    ]);
    this.server = server;
    this.tcpServer = tcp;
    const bound = tcp.address as { host: string; port: number };
    this.address.ip = bound.host;
    this.address.port = bound.port;
    if (this.mode === 'driver') {
      server.unref();
      tcp.unref();
    }
  }

  /** Every connection, accepted or opened, serves the owner's methods (and a worker's task methods). */
  serve(connection: Connection): void {
    // A driver's sockets never keep it alive: its script ends when the user's code does (as
    // Ray's); while it waits on tray (get, wait, put, a generator) keepAlive() holds it.
    if (this.mode === 'driver') connection.socket.unref();
    serveOwnerMethods(this, connection);
    this.executorHandlers?.(connection);
  }

  // ---- objects --------------------------------------------------------------------------

  serialize(value: unknown, label: string): SerializedValue {
    return serialize(value, this.codec, label);
  }

  deserialize(bytes: Uint8Array): unknown {
    return deserialize(bytes, this.codec);
  }

  /** A new id for a `put` object of this process. */
  nextPutId(): Buffer {
    this.putIndex++;
    return objectIdOf(this.putTaskId, PUT_INDEX_BASE + this.putIndex);
  }

  /**
   * The bytes of an object in a node's store, as a view over this node's shared memory: read
   * here, or first copied here by this node's raylet (PullObject) from the store of `where` — a
   * node id, or a function that finds it (asked only when the object is not here).
   * Undefined when no store has it.
   */
  async readStored(
    id: Uint8Array,
    where: Uint8Array | null | undefined | (() => Promise<Uint8Array | undefined>),
  ): Promise<Uint8Array | undefined> {
    const here = await this.storage.read(id, 0);
    if (here !== undefined) return here;
    const nodeId = typeof where === 'function' ? await where() : where;
    if (!nodeId?.length || Buffer.compare(nodeId, this.nodeId) === 0) return undefined;
    try {
      await this.raylet.request(NodeManagerService.PullObject, { objectId: id, nodeId });
    } catch (err) {
      if (!(err instanceof RemoteError)) throw err;
      if (err.info.type === ErrorType.NOT_FOUND) return undefined;
      if (err.info.type !== ErrorType.NODE_DIED && err.info.type !== ErrorType.UNAVAILABLE) {
        throw errorFromInfo(err.info, this.codec); // e.g. no room here: ObjectStoreFullError
      }
      // Its node is gone or cannot be reached, and the value with it (its owner may make it again:
      // ObjectFetcher.valueOf).
      throw errorFromInfo(
        systemError(
          ErrorType.OBJECT_LOST,
          `object ${hex(id)} is lost: the node whose store held it (${hex(nodeId)}) cannot give it (${err.info.message})`,
        ),
        this.codec,
      );
    }
    return this.storage.read(id, 0);
  }

  /** Where the owner at `owner` says object `id` is stored (its node), for a borrower's read. */
  async locate(id: Uint8Array, owner: tray.v1.IAddress | null | undefined): Promise<Uint8Array | undefined> {
    if (!owner) return undefined;
    const connection = await this.peers.get(owner);
    const reply = await connection.request(CoreWorkerService.GetObjectStatus, {
      objectId: id,
      ownerWorkerId: owner.workerId,
    });
    return reply.object?.inPlasma ? (reply.object.nodeId ?? undefined) : undefined;
  }

  async put(value: unknown): Promise<ObjectRef<unknown>> {
    const serialized = this.serialize(value, 'the value given to tray.put');
    const id = this.nextPutId();
    const stored = this.putSerialized(serialized, id);
    if (recordCallSites) this.refs.setCallSite(hex(id), userCallSite('put object'));
    return this.keepAlive(stored);
  }

  /** Store an already serialized value as a new object owned here. */
  async putSerialized(value: SerializedValue, id: Buffer): Promise<ObjectRef<unknown>> {
    const { ref, stored } = this.storeSerialized(value, id);
    await stored;
    return ref;
  }

  /**
   * Make `id` an object owned here with this value. The ref is usable at once; a large value is
   * ready once `stored` resolves (tasks that take it wait for that).
   */
  storeSerialized(value: SerializedValue, id: Buffer): { ref: ObjectRef<unknown>; stored: Promise<void> } {
    const idHex = hex(id);
    this.refs.addOwned(idHex, this.address);
    const ref = new ObjectRef(id, this.address);
    const nested = value.refs.map((r) => [r.hex(), r.ownerAddress] as [string, tray.v1.IAddress | undefined]);
    const nestedRefs = value.refs.map((r) => ({ objectId: r.id, ownerAddress: r.ownerAddress }));
    this.refs.addContained(idHex, nested);
    if (!this.storage.belongsInStore(value.size)) {
      this.memoryStore.put(idHex, { data: value.toBuffer(), nestedRefs, size: value.size });
      return { ref, stored: Promise.resolve() };
    }
    const stored = this.storage.put(id, value).then(
      () =>
        this.memoryStore.put(idHex, { inPlasma: true, nodeId: this.nodeId, nestedRefs, size: value.size }),
      (err: Error) => {
        this.memoryStore.put(idHex, { error: storeError(err) });
        throw err;
      },
    );
    // The failure is the object's value too: a task given it as an argument fails with it (its
    // ref shows the error), so a caller that does not wait for `stored` leaves nothing unhandled.
    stored.catch(() => {});
    return { ref, stored };
  }

  private freeOwned(idHex: string, entry: RefEntry): void {
    if (entry.onFree !== undefined) {
      entry.onFree(); // not a stored object: an actor's handles (actor/actor-runtime.ts)
      return;
    }
    this.tasks.dropLineage(idHex);
    const stored = this.memoryStore.delete(idHex);
    if (!stored?.inPlasma) return;
    const id = Buffer.from(idHex, 'hex');
    if (stored.nodeId === undefined || Buffer.compare(stored.nodeId, this.nodeId) === 0) {
      this.storage.delete([id]);
      return;
    }
    // The primary copy is in another node's store: this node's raylet deletes the copy here (if
    // one was pulled) and has that node's raylet delete the primary.
    this.raylet
      .request(NodeManagerService.FreeObjects, { objectIds: [id], nodeId: stored.nodeId })
      .catch(() => {}); // that node is gone, and its store with it
  }

  // ---- keeping a driver alive ----------------------------------------------------------------

  private busy = 0;
  private keepAliveTimer: NodeJS.Timeout | undefined;

  /** A driver stays alive while the user waits on tray (its sockets are unref'd otherwise). */
  async keepAlive<T>(promise: Promise<T>): Promise<T> {
    if (this.mode !== 'driver' || this.shutDown) return promise;
    // One timer for the process's life, ref'd while anything waits: a get at a time (submit,
    // wait, repeat) toggles it instead of making and clearing an interval per get.
    if (this.busy++ === 0) {
      if (this.keepAliveTimer === undefined) this.keepAliveTimer = setInterval(() => {}, 1 << 30);
      else this.keepAliveTimer.ref();
    }
    try {
      return await promise;
    } finally {
      if (--this.busy === 0) this.keepAliveTimer?.unref();
    }
  }

  // ---- blocking -----------------------------------------------------------------------------

  private blockedDepth = 0;
  /**
   * Whether a wait here lends the lease's CPU to the raylet (workers, until they become an actor
   * whose lease holds no CPU: the actor executor clears it). Such an actor has nothing to lend,
   * and the two raylet round trips per blocking get were most of an actor's CPU per sync call.
   */
  lendsCpuWhenBlocked = true;

  /** Wait for `promise`; a worker tells its raylet it is blocked meanwhile (gives back its CPU). */
  whileBlocked<T>(promise: Promise<T>): Promise<T> {
    if (this.mode !== 'worker' || !this.lendsCpuWhenBlocked) return promise;
    return this.blocked(promise);
  }

  private async blocked<T>(promise: Promise<T>): Promise<T> {
    if (this.blockedDepth++ === 0) {
      this.raylet
        .request(NodeManagerService.NotifyWorkerBlocked, { workerId: this.workerId })
        .catch(() => {});
    }
    try {
      return await promise;
    } finally {
      if (--this.blockedDepth === 0 && !this.shutDown) {
        this.raylet
          .request(NodeManagerService.NotifyWorkerUnblocked, { workerId: this.workerId })
          .catch(() => {});
      }
    }
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  get isShutDown(): boolean {
    return this.shutDown;
  }

  private readonly shutdownHooks: (() => void)[] = [];

  /** Run `hook` when this core worker shuts down (closes what a component opened). */
  onShutdown(hook: () => void): void {
    this.shutdownHooks.push(hook);
  }

  async shutdown(): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    for (const hook of this.shutdownHooks.splice(0)) hook();
    clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    setRefTracker(undefined);
    this.submitter.close();
    this.borrows.close();
    // Whoever still waits on a task of this process learns why it will never finish.
    this.tasks.failAll({
      type: ErrorType.ERROR_UNKNOWN,
      message: 'tray was shut down before the task finished',
    });
    await this.taskEvents.close();
    this.peers.close();
    this.remoteRaylets.close();
    await Promise.all([this.server?.close(), this.tcpServer?.close()]);
    await this.storage.close().catch(() => {});
  }
}
