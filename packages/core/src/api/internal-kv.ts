// tray.experimental.internalKv: the GCS's key-value store (Ray's ray.experimental.internal_kv)
// for libraries that keep small state in the cluster (serve's controller checkpoints and status).
// Keys are strings, values strings or bytes (read back as bytes), both scoped by a namespace.
// Works in drivers and workers alike, through the process's existing GCS connection.
import { processGcs } from '../process/gcs.js';
import { requireCore } from '../process/state.js';

export type KvValue = string | Uint8Array;

function check(where: string, namespace: unknown, key?: unknown): void {
  if (typeof namespace !== 'string' || namespace === '') {
    throw new TypeError(`${where}: namespace must be a non-empty string (got ${String(namespace)})`);
  }
  if (key !== undefined && (typeof key !== 'string' || key === '')) {
    throw new TypeError(`${where}: key must be a non-empty string (got ${String(key)})`);
  }
}

function client(where: string) {
  const core = requireCore(where);
  return { core, gcs: processGcs(core).client };
}

/** The value stored under `key`, or undefined when there is none. */
export async function get(key: string, options: { namespace: string }): Promise<Uint8Array | undefined> {
  const where = 'tray.experimental.internalKv.get';
  check(where, options?.namespace, key);
  const { core, gcs } = client(where);
  return core.keepAlive(gcs.kvGet(options.namespace, key));
}

/**
 * Stores `value` under `key`; with `overwrite: false` an existing value is kept. Resolves true
 * when the key was new.
 */
export async function put(
  key: string,
  value: KvValue,
  options: { namespace: string; overwrite?: boolean },
): Promise<boolean> {
  const where = 'tray.experimental.internalKv.put';
  check(where, options?.namespace, key);
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new TypeError(`${where}: value must be a string or a Uint8Array (JSON.stringify objects first)`);
  }
  const { core, gcs } = client(where);
  return core.keepAlive(gcs.kvPut(options.namespace, key, value, options.overwrite ?? true));
}

/** Deletes `key` (every key starting with it with `byPrefix`); resolves how many were deleted. */
export async function del(key: string, options: { namespace: string; byPrefix?: boolean }): Promise<number> {
  const where = 'tray.experimental.internalKv.delete';
  check(where, options?.namespace, key);
  const { core, gcs } = client(where);
  return core.keepAlive(gcs.kvDel(options.namespace, key, options.byPrefix ?? false));
}

/** The keys of the namespace that start with `prefix` (all of them by default). */
export async function keys(options: { namespace: string; prefix?: string }): Promise<string[]> {
  const where = 'tray.experimental.internalKv.keys';
  check(where, options?.namespace);
  const { core, gcs } = client(where);
  const raw = await core.keepAlive(gcs.kvKeys(options.namespace, options.prefix ?? ''));
  return raw.map((k) => Buffer.from(k).toString('utf8'));
}
