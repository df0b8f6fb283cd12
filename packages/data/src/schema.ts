// Blocks whose schemas disagree. A block read from a file carries the file's path in its Arrow
// schema metadata ("tray.source"), so when blocks are joined (a batch spanning blocks, a
// shuffle's reducer, a repartition) and their columns or types disagree, the error names the
// two files. Integer and floating-point columns of the same name join as float64 (a CSV
// column of whole numbers in one file and decimals in another is one numeric column).
import {
  type DataType,
  type Field,
  Float64,
  RecordBatch,
  Schema,
  Table,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';

const SOURCE = 'tray.source';

/** The table with `source` recorded in its schema metadata (blocks keep it through IPC). */
export function withSource(table: Table, source: string | undefined): Table {
  if (source === undefined || table.schema.metadata.get(SOURCE) === source) return table;
  return withMetadata(table, new Map(table.schema.metadata).set(SOURCE, source));
}

/** Where a block came from (a file path), when a read recorded it. */
export function sourceOf(table: Table): string | undefined {
  return table.schema.metadata.get(SOURCE);
}

/** The table without a recorded source (a block joined from several). */
export function withoutSource(table: Table): Table {
  if (!table.schema.metadata.has(SOURCE)) return table;
  const metadata = new Map(table.schema.metadata);
  metadata.delete(SOURCE);
  return withMetadata(table, metadata);
}

/** `table` with the metadata of `like` (after an operation that built new columns). */
export function keepMetadata(table: Table, like: Table): Table {
  return like.schema.metadata.size === 0 || table.schema.fields.length === 0
    ? table
    : withMetadata(table, new Map(like.schema.metadata));
}

function withMetadata(table: Table, metadata: Map<string, string>): Table {
  const schema = new Schema(table.schema.fields, metadata);
  return new Table(
    schema,
    table.batches.map((b) => new RecordBatch(schema, b.data)),
  );
}

/**
 * The tables with one schema, ready to concatenate: numeric columns that differ become float64,
 * a column that is all null (type Null: a CSV chunk whose column is all empty) takes the other
 * blocks' type; any other disagreement (a column one lacks, a type that cannot be joined) is an
 * error that names both blocks' sources and columns.
 */
export function unifySchemas(tables: Table[]): Table[] {
  const first = tables[0]!;
  const joined = new Map<string, DataType>(first.schema.fields.map((f) => [f.name, f.type]));
  let differ = false;
  for (const t of tables.slice(1)) {
    if (sameFields(first.schema.fields, t.schema.fields)) continue;
    differ = true;
    const problem = conflict(first, t, joined);
    if (problem !== undefined) throw schemaError(first, t, problem);
  }
  if (!differ) return tables;
  return tables.map((t) => castTo(t, joined));
}

function sameFields(a: Field[], b: Field[]): boolean {
  return (
    a.length === b.length && a.every((f, i) => f.name === b[i]!.name && String(f.type) === String(b[i]!.type))
  );
}

/** Joins `b`'s column types into `joined` (the types so far); a message if they cannot be. */
function conflict(first: Table, other: Table, joined: Map<string, DataType>): string | undefined {
  const a = first.schema.fields;
  const b = other.schema.fields;
  const bByName = new Map(b.map((f) => [f.name, f]));
  const missing = a.filter((f) => !bByName.has(f.name)).map((f) => f.name);
  const extra = b.filter((f) => !a.some((g) => g.name === f.name)).map((f) => f.name);
  if (missing.length > 0 || extra.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`${list(missing)} only in the first`);
    if (extra.length > 0) parts.push(`${list(extra)} only in the second`);
    return `their columns differ (${parts.join('; ')})`;
  }
  for (const f of a) {
    const have = joined.get(f.name)!;
    const g = bByName.get(f.name)!.type;
    if (String(have) === String(g) || isNull(g)) continue;
    if (isNull(have)) joined.set(f.name, g);
    else if (isNumeric(have) && isNumeric(g)) joined.set(f.name, new Float64());
    else return `column "${f.name}" is ${have} in the first and ${g} in the second`;
  }
  return undefined;
}

function schemaError(a: Table, b: Table, problem: string): Error {
  const name = (t: Table) => sourceOf(t) ?? 'a block of unknown source';
  const fields = (t: Table) => t.schema.fields.map((f) => `${f.name}: ${f.type}`).join(', ');
  return new Error(
    `schema mismatch: ${name(a)} (${fields(a)}) and ${name(b)} (${fields(b)}) cannot be joined into one block: ${problem}. Make the files agree, or read them as separate datasets (selectColumns or a map can bring them to one schema before they are combined)`,
  );
}

function isNumeric(type: DataType): boolean {
  const id = type.typeId as number;
  return id === 2 || id === 3;
}

function isNull(type: DataType): boolean {
  return (type.typeId as number) === 1;
}

/** The table with its columns of the joined types: nulls filled in, numbers as float64. */
function castTo(table: Table, joined: Map<string, DataType>): Table {
  const differs = (f: Field) => String(f.type) !== String(joined.get(f.name));
  if (!table.schema.fields.some(differs)) return table;
  const vectors: Record<string, Vector> = {};
  for (const f of table.schema.fields) {
    const column = table.getChild(f.name)!;
    const type = joined.get(f.name)!;
    if (!differs(f)) vectors[f.name] = column;
    else if (isNull(f.type)) vectors[f.name] = vectorFromArray(new Array(column.length).fill(null), type);
    else
      vectors[f.name] = vectorFromArray(
        Array.from({ length: column.length }, (_, i) => {
          const v = column.get(i);
          return v === null ? null : Number(v);
        }),
        type,
      );
  }
  return keepMetadata(new Table(vectors), table);
}

function list(names: string[]): string {
  return names.map((n) => JSON.stringify(n)).join(', ');
}
