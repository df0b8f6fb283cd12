// The internal KV store (InternalKVGcsService): byte keys and values in namespaces, used for
// function tables, runtime-env URIs, cluster metadata. Keys live in the storage's `kv` table as
// `hex(namespace) ":" hex(key)`, so a key prefix is a storage-key prefix and namespaces never
// collide. An empty namespace is a namespace like any other.
import { invalidArgument, type tray } from '@tray/protocol';
import { bytesKey, type GcsStorage, keyBytes, Tables } from '../storage/storage.js';

function nsPrefix(namespace: string): string {
  return `${Buffer.from(namespace, 'utf8').toString('hex')}:`;
}

function storageKey(namespace: string, key: Uint8Array): string {
  return nsPrefix(namespace) + bytesKey(key);
}

function requireKey(key: Uint8Array | null | undefined): Uint8Array {
  if (!key || key.length === 0) throw invalidArgument('key is required and must be non-empty');
  return key;
}

export class KvManager {
  constructor(private readonly storage: GcsStorage) {}

  async get(request: tray.v1.InternalKVGetRequest): Promise<Uint8Array | undefined> {
    return this.storage.get(Tables.kv, storageKey(request.namespace, requireKey(request.key)));
  }

  /** Stores the value; with `overwrite` false an existing key is kept. Says whether a key was added. */
  async put(request: tray.v1.InternalKVPutRequest): Promise<boolean> {
    const key = storageKey(request.namespace, requireKey(request.key));
    const value = request.value ?? new Uint8Array();
    if (!request.overwrite) return this.storage.putIfAbsent(Tables.kv, key, value);
    const existed = (await this.storage.get(Tables.kv, key)) !== undefined;
    await this.storage.put(Tables.kv, key, value);
    return !existed;
  }

  /** Deletes the key (or, with `delByPrefix`, every key starting with it); returns how many. */
  async del(request: tray.v1.InternalKVDelRequest): Promise<number> {
    if (!request.delByPrefix) {
      const key = storageKey(request.namespace, requireKey(request.key));
      return (await this.storage.delete(Tables.kv, key)) ? 1 : 0;
    }
    const prefix = storageKey(request.namespace, request.key ?? new Uint8Array());
    let deleted = 0;
    for (const key of await this.storage.keysWithPrefix(Tables.kv, prefix)) {
      if (await this.storage.delete(Tables.kv, key)) deleted += 1;
    }
    return deleted;
  }

  async exists(request: tray.v1.InternalKVExistsRequest): Promise<boolean> {
    const key = storageKey(request.namespace, requireKey(request.key));
    return (await this.storage.get(Tables.kv, key)) !== undefined;
  }

  /** Every key of the namespace that starts with `prefix` (the empty prefix: all of them), sorted. */
  async keys(request: tray.v1.InternalKVKeysRequest): Promise<Uint8Array[]> {
    const ns = nsPrefix(request.namespace);
    const keys = await this.storage.keysWithPrefix(
      Tables.kv,
      ns + bytesKey(request.prefix ?? new Uint8Array()),
    );
    return keys.sort().map((key) => keyBytes(key.slice(ns.length)));
  }
}
