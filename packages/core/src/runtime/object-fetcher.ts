// Getting objects: wait until each is ready (in this process's memory store when it owns it,
// from its owner with GetObjectStatus when it borrows it), then turn it into a value (inline
// bytes deserialized, large ones read from the node's store as zero-copy views, errors thrown as
// the typed errors of API.md). get() and wait() of API.md are built here.

import type { PeerConnections } from '@tray/protocol';
import { CoreWorkerService, ErrorType, RemoteError, type tray } from '@tray/protocol';
import { GetTimeoutError, ObjectLostError } from '../errors.js';
import { errorFromInfo, systemError } from './error-info.js';
import { hex } from './ids.js';
import type { MemoryStore, StoredObject } from './memory-store.js';
import type { ObjectRef } from './object-ref.js';
import type { ReferenceCounter } from './reference-counter.js';
import { storedFromValue, type TaskManager } from './task-manager.js';
import type { ValueCodec } from './value-codec.js';

/** What getting objects needs of its process (the core worker gives itself). */
export interface FetcherContext {
  readonly address: tray.v1.IAddress;
  readonly workerIdHex: string;
  readonly memoryStore: MemoryStore;
  readonly refs: ReferenceCounter;
  /** Lost objects this process owns are made again (lineage reconstruction). */
  readonly tasks: TaskManager;
  /** Connections to the owners of borrowed objects. */
  readonly peers: PeerConnections;
  readonly codec: ValueCodec;
  deserialize(bytes: Uint8Array): unknown;
  /** The bytes of an object in a node's store (pulled to this node first when elsewhere). */
  readStored(id: Uint8Array, where: Uint8Array | null | undefined): Promise<Uint8Array | undefined>;
  /** A driver stays alive while the user waits. */
  keepAlive<T>(promise: Promise<T>): Promise<T>;
  /** A worker gives back its CPU while it waits. */
  whileBlocked<T>(promise: Promise<T>): Promise<T>;
}

export class ObjectFetcher {
  private readonly inFlight = new Map<string, Promise<StoredObject>>();

  constructor(private readonly core: FetcherContext) {}

  private owns(ref: ObjectRef<unknown>): boolean {
    if (ref.ownerAddress === this.core.address) return true;
    const owner = ref.ownerAddress?.workerId;
    return owner == null || hex(owner) === this.core.workerIdHex;
  }

  /** Resolves when the object is ready (value, store location or error). */
  ready(ref: ObjectRef<unknown>): Promise<StoredObject> {
    const idHex = ref.hex();
    const local = this.core.memoryStore.get(idHex);
    if (local !== undefined) return Promise.resolve(local);
    if (this.owns(ref)) {
      if (!this.core.refs.has(idHex)) {
        return Promise.resolve({
          error: systemError(ErrorType.OBJECT_LOST, `object ${idHex} was freed: no reference to it remained`),
        });
      }
      return this.core.memoryStore.ready(idHex);
    }
    let pending = this.inFlight.get(idHex);
    if (pending === undefined) {
      pending = this.askOwner(ref).finally(() => this.inFlight.delete(idHex));
      this.inFlight.set(idHex, pending);
    }
    return pending;
  }

  private async askOwner(ref: ObjectRef<unknown>): Promise<StoredObject> {
    const idHex = ref.hex();
    const owner = ref.ownerAddress!;
    let reply: tray.v1.GetObjectStatusReply;
    try {
      const connection = await this.core.peers.get(owner);
      reply = await connection.request(CoreWorkerService.GetObjectStatus, {
        objectId: ref.id,
        ownerWorkerId: owner.workerId,
      });
    } catch (err) {
      if (err instanceof RemoteError) return { error: err.info };
      return {
        error: systemError(
          ErrorType.OWNER_DIED,
          `the owner of object ${idHex} died before it could be read (${(err as Error).message})`,
        ),
      };
    }
    if (reply.status !== 0 || !reply.object) {
      return {
        error: systemError(ErrorType.OBJECT_LOST, `object ${idHex} is no longer referenced by its owner`),
      };
    }
    const stored = storedFromValue(reply.object);
    if (this.core.refs.has(idHex)) this.core.memoryStore.put(idHex, stored);
    return stored;
  }

  /** The value of a ready object; throws its error. */
  async valueOf(ref: ObjectRef<unknown>, stored: StoredObject): Promise<unknown> {
    if (stored.error) throw errorFromInfo(stored.error, this.core.codec);
    if (stored.inPlasma) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await this.core.readStored(ref.id, stored.nodeId);
      } catch (err) {
        // Lost with its node: an object this process made by a task is made again (lineage).
        if (err instanceof ObjectLostError && this.owns(ref) && this.core.tasks.reconstruct(ref.hex())) {
          return this.valueOf(ref, await this.core.memoryStore.ready(ref.hex()));
        }
        throw err;
      }
      if (bytes === undefined) {
        throw errorFromInfo(
          systemError(
            ErrorType.OBJECT_LOST,
            `object ${ref.hex()} is not in the node's object store any more`,
          ),
          this.core.codec,
        );
      }
      return this.core.deserialize(bytes);
    }
    return this.core.deserialize(stored.data ?? new Uint8Array(0));
  }

  get(refs: ObjectRef<unknown>[], timeoutMs: number | undefined): Promise<unknown[]> {
    return this.core.keepAlive(this.getValues(refs, timeoutMs));
  }

  private async getValues(refs: ObjectRef<unknown>[], timeoutMs: number | undefined): Promise<unknown[]> {
    const deadline = timeoutMs === undefined ? undefined : performance.now() + timeoutMs;
    const store = this.core.memoryStore;
    const stored: (StoredObject | undefined)[] = new Array(refs.length);
    let missing = 0;
    for (let i = 0; i < refs.length; i++) {
      const s = store.get(refs[i]!.hex());
      stored[i] = s;
      if (s === undefined) missing++;
    }
    if (missing > 0) {
      const listener: { stop?: () => void } = {};
      try {
        await this.core.whileBlocked(
          withTimeout(this.readyAll(refs, stored, missing, listener), timeoutMs, () => {
            const notReady = refs.filter((r) => !store.has(r.hex())).length;
            return new GetTimeoutError(
              `tray.get timed out after ${timeoutMs} ms: ${notReady} of ${refs.length} object(s) not ready`,
            );
          }),
        );
      } finally {
        listener.stop?.();
      }
    }
    const values: unknown[] = new Array(refs.length);
    for (let i = 0; i < refs.length; i++) {
      const s = stored[i]!;
      // Inline values are read at once; errors and values in the node's store take valueOf.
      if (s.error === undefined && !s.inPlasma) {
        values[i] = this.core.deserialize(s.data ?? EMPTY);
        continue;
      }
      // A value in another node's store is fetched first: within what is left of the timeout.
      const left = deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
      values[i] = await withTimeout(
        this.valueOf(refs[i]!, s),
        left,
        () =>
          new GetTimeoutError(
            `tray.get timed out after ${timeoutMs} ms: object ${refs[i]!.hex()} was still being fetched`,
          ),
      );
    }
    return values;
  }

  /**
   * Fill the holes of `stored` as the objects become ready. Owned refs share one memory-store
   * listener (no promise or waiter per ref); borrowed or freed ones go through ready().
   */
  private readyAll(
    refs: ObjectRef<unknown>[],
    stored: (StoredObject | undefined)[],
    missing: number,
    listener: { stop?: () => void },
  ): Promise<void> {
    const store = this.core.memoryStore;
    return new Promise<void>((resolve) => {
      let left = missing;
      const filled = (i: number, s: StoredObject) => {
        if (stored[i] !== undefined) return;
        stored[i] = s;
        if (--left === 0) {
          listener.stop?.();
          resolve();
        }
      };
      // Where each wanted object goes: its index, or its indexes when the refs repeat it.
      let wanted: Map<string, number | number[]> | undefined;
      for (let i = 0; i < refs.length; i++) {
        if (stored[i] !== undefined) continue;
        const ref = refs[i]!;
        const idHex = ref.hex();
        if (this.owns(ref) && this.core.refs.has(idHex)) {
          wanted ??= new Map();
          const at = wanted.get(idHex);
          if (at === undefined) wanted.set(idHex, i);
          else if (typeof at === 'number') wanted.set(idHex, [at, i]);
          else at.push(i);
        } else {
          this.ready(ref).then((s) => filled(i, s));
        }
      }
      const listening = wanted;
      if (listening !== undefined) {
        const fill = (at: number | number[], s: StoredObject) => {
          if (typeof at === 'number') filled(at, s);
          else for (const i of at) filled(i, s);
        };
        listener.stop = store.onPut((idHex, s) => {
          const at = listening.get(idHex);
          if (at === undefined) return;
          listening.delete(idHex);
          fill(at, s);
        });
        // Anything that became ready between the first look and now.
        for (const [idHex, at] of listening) {
          const s = store.get(idHex);
          if (s === undefined) continue;
          listening.delete(idHex);
          fill(at, s);
        }
      }
    });
  }

  wait(
    refs: ObjectRef<unknown>[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<{ ready: ObjectRef<unknown>[]; notReady: ObjectRef<unknown>[] }> {
    return this.core.keepAlive(this.waitFor(refs, numReturns, timeoutMs));
  }

  private async waitFor(
    refs: ObjectRef<unknown>[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<{ ready: ObjectRef<unknown>[]; notReady: ObjectRef<unknown>[] }> {
    const store = this.core.memoryStore;
    const done = new Set<number>();
    refs.forEach((ref, i) => {
      if (store.has(ref.hex())) done.add(i);
    });
    if (done.size < numReturns && timeoutMs !== 0) {
      await this.core.whileBlocked(
        new Promise<void>((resolve) => {
          const unsubscribe: (() => void)[] = [];
          let timer: NodeJS.Timeout | undefined;
          let finished = false;
          const finish = () => {
            if (finished) return;
            finished = true;
            if (timer) clearTimeout(timer);
            for (const u of unsubscribe) u();
            resolve();
          };
          const readyAt = (i: number) => {
            done.add(i);
            if (done.size >= numReturns) finish();
          };
          // One listener for all the owned refs: waits over many refs stay O(1) per object.
          const wanted = new Map<string, number>();
          unsubscribe.push(
            store.onPut((idHex) => {
              const i = wanted.get(idHex);
              if (i !== undefined && !finished) readyAt(i);
            }),
          );
          refs.forEach((ref, i) => {
            if (done.has(i)) return;
            if (this.owns(ref) && this.core.refs.has(ref.hex())) {
              wanted.set(ref.hex(), i);
            } else {
              // Borrowed (or freed): ask its owner; the answer is cached in the memory store.
              this.ready(ref).then(() => {
                if (!finished) readyAt(i);
              });
            }
          });
          if (timeoutMs !== undefined) timer = setTimeout(finish, timeoutMs);
        }),
      );
    }
    // Input order within both lists; at most numReturns ready.
    const ready: ObjectRef<unknown>[] = [];
    const notReady: ObjectRef<unknown>[] = [];
    refs.forEach((ref, i) => {
      if (done.has(i) && ready.length < numReturns) ready.push(ref);
      else notReady.push(ref);
    });
    return { ready, notReady };
  }
}

const EMPTY = new Uint8Array(0);

function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number | undefined,
  onTimeout: () => Error,
): Promise<T> {
  if (timeoutMs === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), timeoutMs);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
