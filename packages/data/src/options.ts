// The options the Dataset methods share and their checks: what a map-like call accepts
// (resources, concurrency, captures), key and count arguments, and small helpers of the
// all-to-all methods. Kept apart from dataset.ts so that file holds the Dataset's methods.
import type { BatchFormat } from './block.js';
import type { BlockRef, Compute } from './exec/plan.js';

export interface MapOptions extends Compute {
  /** Values the function's source refers to (as tray.remote's captures). */
  captures?: Record<string, unknown>;
  /** Extra arguments passed after the row or batch. */
  fnArgs?: unknown[];
}

export interface MapBatchesOptions extends MapOptions {
  /** Rows per call; null (default) gives whole blocks. */
  batchSize?: number | null;
  /** 'columns' (default: Record<string, TypedArray | unknown[]>), 'rows' or 'arrow'. */
  batchFormat?: BatchFormat;
  /** A class: the arguments of its constructor, once per actor. */
  fnConstructorArgs?: unknown[];
}

export function computeOf(o: MapOptions): Compute {
  return { numCpus: o.numCpus, resources: o.resources, concurrency: o.concurrency };
}

const OPTION_KEYS = new Set([
  'numCpus',
  'resources',
  'concurrency',
  'captures',
  'fnArgs',
  'batchSize',
  'batchFormat',
  'fnConstructorArgs',
]);

export function checkOptions(o: MapOptions, where: string): void {
  if (o === null || typeof o !== 'object') throw new TypeError(`${where}: options must be an object`);
  for (const k of Object.keys(o)) {
    if (!OPTION_KEYS.has(k))
      throw new TypeError(`${where}: unknown option "${k}"; the options are ${[...OPTION_KEYS].join(', ')}`);
  }
  if (o.numCpus !== undefined && !(typeof o.numCpus === 'number' && o.numCpus >= 0)) {
    throw new TypeError(`${where}: numCpus must be a non-negative number; got ${o.numCpus}`);
  }
  const c = o.concurrency;
  if (
    c !== undefined &&
    !(Number.isInteger(c) && (c as number) > 0) &&
    !(Array.isArray(c) && c.length === 2 && c[0] >= 1 && c[1] >= c[0])
  ) {
    throw new TypeError(
      `${where}: concurrency must be a positive integer or [min, max] with 1 <= min <= max; got ${JSON.stringify(c)}`,
    );
  }
}

export function keyList(key: string | string[], where: string): string[] {
  const keys = typeof key === 'string' ? [key] : key;
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string' || k === '')) {
    throw new TypeError(
      `${where}: key must be a column name or a non-empty array of them; got ${JSON.stringify(key)}`,
    );
  }
  return keys;
}

export function positiveInt(n: number, what: string): void {
  if (!(Number.isInteger(n) && n > 0)) throw new TypeError(`${what} must be a positive integer; got ${n}`);
}

export function totalRows(blocks: BlockRef[]): number {
  return blocks.reduce((s, b) => s + b.meta.numRows, 0);
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

export function randomPrefix(): string {
  return Math.random().toString(16).slice(2, 10).padEnd(8, '0');
}
