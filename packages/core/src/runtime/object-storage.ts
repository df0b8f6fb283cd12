// The seam between small and large values. Values up to 100 KiB (Ray's
// max_direct_call_object_size) travel inline and live in their owner's memory store; larger
// ones are written once into the node's shared-memory store and read back as zero-copy views.
import type { StoreClient } from '@tray/object-store';
import { ErrorType, errorTypeOf, type tray } from '@tray/protocol';
import { ObjectStoreFullError } from '../errors.js';
import type { SerializedValue } from './serialization.js';

export const INLINE_LIMIT_BYTES = 100 * 1024;

export class ObjectStorage {
  constructor(private readonly store: StoreClient | undefined) {}

  get available(): boolean {
    return this.store !== undefined;
  }

  /** True when a value of this size belongs in the shared store. */
  belongsInStore(size: number): boolean {
    return this.store !== undefined && size > INLINE_LIMIT_BYTES;
  }

  /** Writes a serialized value into the shared store (one copy, at memory speed) and seals it. */
  async put(id: Uint8Array, value: SerializedValue): Promise<void> {
    const store = this.store!;
    if (value.size > store.capacity) {
      throw new ObjectStoreFullError(
        `an object of ${value.size} bytes cannot fit in the node's object store (${store.capacity} bytes); ` +
          'start the cluster with a larger objectStoreMemory, or split the value',
      );
    }
    try {
      // Each part straight into the store's memory (no window: see StoreClient.putParts).
      await store.putParts(id, value.size, value.parts(), { primary: true });
    } catch (err) {
      if (errorTypeOf(err) === ErrorType.OBJECT_STORE_FULL) {
        throw new ObjectStoreFullError(`the node's object store is full: ${(err as Error).message}`);
      }
      throw err;
    }
  }

  /** The bytes of a stored object, as a view over shared memory. */
  async read(id: Uint8Array, timeoutMs = 0): Promise<Uint8Array | undefined> {
    const store = this.store;
    if (store === undefined) return undefined;
    const [object] = await store.getMany([id], { timeoutMs });
    return object?.data;
  }

  delete(ids: Uint8Array[]): void {
    if (this.store === undefined || ids.length === 0) return;
    this.store.delete(ids).catch(() => {});
  }

  async stats(): Promise<Awaited<ReturnType<StoreClient['stats']>> | undefined> {
    return this.store?.stats();
  }

  async close(): Promise<void> {
    await this.store?.close();
  }
}

/** The error a value's object carries when writing it into the node's store failed. */
export function storeError(err: Error): tray.v1.IErrorInfo {
  const full = errorTypeOf(err) === ErrorType.OBJECT_STORE_FULL;
  return {
    type: full ? ErrorType.OBJECT_STORE_FULL : ErrorType.INTERNAL,
    message: `could not write the object into the node's store: ${err.message}`,
  };
}
