// Sort keys: comparing rows by one or more columns (nulls last), and a seeded random generator
// so randomShuffle({ seed }) gives the same order on every run.
import type { Table } from 'apache-arrow';

export type KeyValue = number | string | bigint | boolean | null;

export function compareValues(a: KeyValue, b: KeyValue): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareKeys(a: KeyValue[], b: KeyValue[], descending: boolean): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareValues(a[i]!, b[i]!);
    if (c !== 0) return descending ? -c : c;
  }
  return 0;
}

/** The key of each row of `table` (an array of column values per row). */
export function keysOf(table: Table, columns: string[], where: string): KeyValue[][] {
  const vectors = columns.map((c) => {
    const v = table.getChild(c);
    if (v === null) {
      throw new Error(
        `${where}: no column "${c}" in the dataset; its columns are ${table.schema.fields.map((f) => f.name).join(', ')}`,
      );
    }
    return v;
  });
  const keys: KeyValue[][] = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) keys[i] = vectors.map((v) => v.get(i) as KeyValue);
  return keys;
}

/** mulberry32: small, fast, good enough to shuffle rows reproducibly. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One numeric key column without nulls, as its typed array (the fast path of sort and groupBy). */
export function numericKey(table: Table, columns: string[]): ArrayLike<number> | undefined {
  if (columns.length !== 1) return undefined;
  const v = table.getChild(columns[0]!);
  if (v === null || v.nullCount > 0) return undefined;
  const id = v.type.typeId as number;
  if (id !== 2 && id !== 3) return undefined;
  const values = v.toArray();
  return values instanceof BigInt64Array || values instanceof BigUint64Array
    ? undefined
    : (values as ArrayLike<number>);
}
