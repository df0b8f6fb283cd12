// The in-process memory store: for each object this process owns (or has fetched), what is
// known of its value — the serialized bytes when small, "in the node's store" when large, or
// the error that took its place. Gets and waits subscribe to objects not ready yet.
import type { tray } from '@tray/protocol';

export interface StoredObject {
  /** The serialized value (inline objects). */
  data?: Uint8Array;
  /** The value is in a node's shared-memory store under the object's id. */
  inPlasma?: boolean;
  /** In a store: the node whose store holds it (absent: this process's node). */
  nodeId?: Uint8Array;
  /** The object is an error: getting it throws the error this describes. */
  error?: tray.v1.IErrorInfo;
  /** References nested inside the value. */
  nestedRefs?: tray.v1.IObjectReference[];
  size?: number;
}

type Waiter = (object: StoredObject) => void;

export class MemoryStore {
  private readonly objects = new Map<string, StoredObject>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Told of every object that becomes ready (wait() over many refs listens once, here). */
  private readonly putListeners = new Set<(idHex: string, object: StoredObject) => void>();

  get size(): number {
    return this.objects.size;
  }

  put(idHex: string, object: StoredObject): void {
    this.objects.set(idHex, object);
    if (this.putListeners.size > 0) for (const listen of this.putListeners) listen(idHex, object);
    if (this.waiters.size === 0) return;
    const waiting = this.waiters.get(idHex);
    if (waiting === undefined) return;
    this.waiters.delete(idHex);
    for (const w of waiting) w(object);
  }

  get(idHex: string): StoredObject | undefined {
    return this.objects.get(idHex);
  }

  has(idHex: string): boolean {
    return this.objects.has(idHex);
  }

  delete(idHex: string): StoredObject | undefined {
    const object = this.objects.get(idHex);
    this.objects.delete(idHex);
    return object;
  }

  /** Calls `fn` once the object is ready (at once if it is). Returns an unsubscribe function. */
  whenReady(idHex: string, fn: Waiter): () => void {
    const object = this.objects.get(idHex);
    if (object !== undefined) {
      fn(object);
      return () => {};
    }
    let set = this.waiters.get(idHex);
    if (set === undefined) {
      set = new Set();
      this.waiters.set(idHex, set);
    }
    set.add(fn);
    return () => {
      const s = this.waiters.get(idHex);
      if (s === undefined) return;
      s.delete(fn);
      if (s.size === 0) this.waiters.delete(idHex);
    };
  }

  /** Calls `fn` with the id of every object put from now on. Returns a remove function. */
  onPut(fn: (idHex: string, object: StoredObject) => void): () => void {
    this.putListeners.add(fn);
    return () => this.putListeners.delete(fn);
  }

  /** Resolves once the object is ready. */
  ready(idHex: string): Promise<StoredObject> {
    const object = this.objects.get(idHex);
    if (object !== undefined) return Promise.resolve(object);
    return new Promise((resolve) => this.whenReady(idHex, resolve));
  }
}
