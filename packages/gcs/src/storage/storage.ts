// The one storage interface behind every GCS table (DESIGN.md, "Cluster state and fault
// tolerance"). Managers keep their working set in memory and write through to a GcsStorage, so
// a GCS restarted on the same durable storage (Redis) finds its tables again.
//
// Contract an implementation must keep:
// - A table is a named map from string keys to byte values. Tables are independent: the same key
//   in two tables names two entries. Table names and keys are any non-empty strings the
//   managers choose; binary ids are stored as lowercase hex (see `bytesKey`), so that a byte
//   prefix is also a string prefix.
// - `put` replaces; `putIfAbsent` stores only when the key is missing and says whether it did,
//   atomically with respect to other calls on the same storage.
// - `get` of a missing key resolves `undefined`; `delete` resolves whether something was removed.
// - `getAll` returns every entry of the table; `keysWithPrefix` every key starting with `prefix`
//   (the empty prefix: every key). Order is unspecified.
// - `increment` adds one to a named counter (starting from 0) and returns the new value; it is
//   durable like the tables (job ids keep counting after a restart).
// - Values come back as fresh byte arrays the caller may keep.
// - After `close` no call is made.

export interface GcsStorage {
  get(table: string, key: string): Promise<Uint8Array | undefined>;
  put(table: string, key: string, value: Uint8Array): Promise<void>;
  putIfAbsent(table: string, key: string, value: Uint8Array): Promise<boolean>;
  delete(table: string, key: string): Promise<boolean>;
  getAll(table: string): Promise<Map<string, Uint8Array>>;
  keysWithPrefix(table: string, prefix: string): Promise<string[]>;
  increment(counter: string): Promise<number>;
  close(): Promise<void>;
}

/** The names of the GCS's tables. */
export const Tables = {
  nodes: 'nodes',
  actors: 'actors',
  jobs: 'jobs',
  workers: 'workers',
  placementGroups: 'placement_groups',
  kv: 'kv',
} as const;

/** A binary id or key as a table key: lowercase hex, so byte prefixes stay string prefixes. */
export function bytesKey(bytes: Uint8Array | null | undefined): string {
  if (!bytes) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The bytes of a key made by `bytesKey`. */
export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'hex');
}
