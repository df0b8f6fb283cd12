// Blocks: the unit a dataset is made of. A block is an Apache Arrow table; it travels and sits in
// the object store as Arrow IPC stream bytes (a Uint8Array, so the store holds it out of band and
// a reader gets a zero-copy view that tableFromIPC decodes without copying column buffers).
// This file converts between blocks and the three batch formats user code sees, and builds
// tables from JS values with the column types a user would expect.
import {
  Binary,
  Bool,
  type DataType,
  type Field,
  Float64,
  makeVector,
  type Schema,
  Table,
  tableFromIPC,
  tableToIPC,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { sourceOf, unifySchemas, withoutSource } from './schema.js';

/** What user code receives and returns for a batch. */
export type BatchFormat = 'arrow' | 'columns' | 'rows';
export type Row = Record<string, unknown>;
export type Columns = Record<string, ArrayLike<unknown>>;
export type Batch = Table | Columns | Row[];

/** What the executor knows about a block without reading it. */
/** What a task that makes a block returns: the block's Arrow IPC bytes and its metadata. */
export type TaskOutput = [Uint8Array, BlockMeta];

export interface BlockMeta {
  numRows: number;
  sizeBytes: number;
  /** Where the block came from (a file path), for messages. */
  source?: string;
  /** How long the task that made it ran. */
  execMs?: number;
}

export const BATCH_FORMATS: readonly BatchFormat[] = ['arrow', 'columns', 'rows'];

export function encodeBlock(table: Table): Uint8Array {
  return tableToIPC(table, 'stream');
}

export function decodeBlock(bytes: Uint8Array): Table {
  return tableFromIPC(bytes);
}

export function metaOf(table: Table, bytes: Uint8Array, source?: string): BlockMeta {
  return source === undefined
    ? { numRows: table.numRows, sizeBytes: bytes.byteLength }
    : { numRows: table.numRows, sizeBytes: bytes.byteLength, source };
}

/** A block as the batch format user code asked for. */
export function toBatch(table: Table, format: BatchFormat): Batch {
  if (format === 'arrow') return table;
  if (format === 'columns') return toColumns(table);
  return toRows(table);
}

export function toColumns(table: Table): Columns {
  const out: Columns = {};
  for (const field of table.schema.fields) {
    const column = table.getChild(field.name)!;
    out[field.name] = columnValues(column);
  }
  return out;
}

export function columnValues(column: Vector): ArrayLike<unknown> {
  // Numeric columns without nulls come back as typed arrays (one copy at most, none when the
  // table is one chunk); everything else as plain JS values.
  if (column.nullCount === 0 && isTypedNumeric(column.type)) return column.toArray() as ArrayLike<unknown>;
  const values = new Array(column.length);
  for (let i = 0; i < column.length; i++) values[i] = plain(column.get(i));
  return values;
}

function isTypedNumeric(type: DataType): boolean {
  const id = type.typeId as number;
  // Int (2) and Float (3) in Arrow's Type enum; dictionary-encoded columns are not.
  return id === 2 || id === 3;
}

export function toRows(table: Table): Row[] {
  const names = table.schema.fields.map((f) => f.name);
  const columns = names.map((n) => table.getChild(n)!);
  const rows: Row[] = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    const row: Row = {};
    for (let c = 0; c < names.length; c++) row[names[c]!] = plain(columns[c]!.get(i));
    rows[i] = row;
  }
  return rows;
}

/** Arrow's row proxies and structs become plain objects; other values stay as they are. */
export function plain(value: unknown): unknown {
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    if (!(value instanceof Uint8Array) && !(value instanceof Date))
      return (value as { toJSON(): unknown }).toJSON();
  }
  return value;
}

/**
 * A table from what user code returned in `format`. `like` is the input's schema: a column that
 * keeps its name and whose values still fit keeps its type (so `map(row => row)` over int32 ids
 * stays int32).
 */
export function fromBatch(
  value: unknown,
  format: BatchFormat,
  like: Schema | undefined,
  where: string,
): Table {
  if (value instanceof Table) return value;
  if (format === 'rows' || Array.isArray(value)) {
    if (!Array.isArray(value))
      throw new TypeError(`${where} must return an array of row objects, got ${typeOf(value)}`);
    return rowsToTable(value as Row[], like, where);
  }
  if (value === null || typeof value !== 'object') {
    throw new TypeError(
      `${where} must return a batch (an apache-arrow Table, an object of columns, or an array of rows), got ${typeOf(value)}`,
    );
  }
  return columnsToTable(value as Columns, like, where);
}

export function rowsToTable(rows: Row[], like: Schema | undefined, where: string): Table {
  const names: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new TypeError(`${where}: row ${i} is ${typeOf(row)}, expected a plain object of column values`);
    }
    for (const key of Object.keys(row)) {
      if (!seen.has(key)) {
        seen.add(key);
        names.push(key);
      }
    }
  }
  const columns: Record<string, unknown[]> = {};
  for (const name of names) {
    const values = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i]![name];
      values[i] = v === undefined ? null : v;
    }
    columns[name] = values;
  }
  return columnsToTable(columns, like, where, rows.length);
}

export function columnsToTable(
  columns: Columns,
  like: Schema | undefined,
  where: string,
  numRows?: number,
): Table {
  const vectors: Record<string, Vector> = {};
  let length = numRows;
  for (const [name, values] of Object.entries(columns)) {
    if (
      values === null ||
      typeof values !== 'object' ||
      typeof (values as ArrayLike<unknown>).length !== 'number'
    ) {
      throw new TypeError(
        `${where}: column "${name}" is ${typeOf(values)}, expected an array or a typed array`,
      );
    }
    if (length === undefined) length = values.length;
    else if (values.length !== length) {
      throw new TypeError(
        `${where}: column "${name}" has ${values.length} values but the others have ${length}; all columns of a batch must be equally long`,
      );
    }
    vectors[name] = toVector(values, like?.fields.find((f) => f.name === name)?.type);
  }
  if (Object.keys(vectors).length === 0) return new Table();
  return new Table(vectors);
}

export function toVector(values: ArrayLike<unknown>, hint: DataType | undefined): Vector {
  if (ArrayBuffer.isView(values) && !(values instanceof DataView)) return makeVector(values as Int32Array);
  const array = values as unknown[];
  if (hint !== undefined && fits(array, hint)) return vectorFromArray(array, hint);
  return vectorFromArray(array, inferType(array));
}

function inferType(values: unknown[]): DataType {
  let kind: string | undefined;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const k = v instanceof Uint8Array ? 'binary' : typeof v;
    if (kind === undefined) kind = k;
    else if (kind !== k) {
      kind = 'mixed';
      break;
    }
  }
  if (kind === 'number') return new Float64();
  if (kind === 'string') return new Utf8();
  if (kind === 'boolean') return new Bool();
  if (kind === 'binary') return new Binary();
  // Objects, bigints, dates, all-null or mixed columns: apache-arrow's own inference.
  return vectorFromArray(values).type;
}

function fits(values: unknown[], type: DataType): boolean {
  const id = type.typeId as number;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (id === 2) {
      // Int: 64-bit ints hold bigints; narrower ones hold integral numbers.
      const bits = (type as unknown as { bitWidth: number }).bitWidth;
      if (bits === 64 ? typeof v !== 'bigint' : typeof v !== 'number' || !Number.isInteger(v)) return false;
      if (bits === 32 && ((v as number) > 2147483647 || (v as number) < -2147483648)) return false;
      if (bits < 32) return false;
    } else if (id === 3) {
      if (typeof v !== 'number') return false;
    } else if (id === 5) {
      if (typeof v !== 'string') return false;
    } else if (id === 6) {
      if (typeof v !== 'boolean') return false;
    } else {
      return false;
    }
  }
  return true;
}

export function concatTables(tables: Table[]): Table {
  const nonEmpty = tables.filter((t) => t.numRows > 0);
  if (nonEmpty.length === 0) return tables[0] ?? new Table();
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  const [first, ...rest] = unifySchemas(nonEmpty);
  const joined = first!.concat(...rest);
  // A block joined from several files has no one source.
  return rest.every((t) => sourceOf(t) === sourceOf(first!)) ? joined : withoutSource(joined);
}

/** The first rows of a batch, as text short enough for an error message. */
export function sampleOf(table: Table, rows = 3): string {
  try {
    const text = JSON.stringify(toRows(table.slice(0, rows)), (_k, v) =>
      typeof v === 'bigint' ? `${v}n` : v,
    );
    return text.length > 600 ? `${text.slice(0, 600)}…` : text;
  } catch {
    return '(the batch could not be shown)';
  }
}

export function fieldList(schema: Schema): string {
  return schema.fields.map((f: Field) => `${f.name}: ${f.type}`).join(', ');
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
