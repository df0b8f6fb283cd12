// The row and batch transforms of a dataset (map, mapBatches, flatMap, filter, addColumn,
// dropColumns, selectColumns) as they travel to the tasks and actors that run them, and how a
// block goes through a chain of them. The driver builds Stage values; a worker runs applyStages.
// Consecutive task stages are fused into one task (Ray's operator fusion), so a block is read,
// transformed and stored once instead of once per transform.
import type { ActorClass, RemoteFunction } from '@tray/core';
import { makeVector, Table, Utf8, vectorFromArray } from 'apache-arrow';
import {
  type BatchFormat,
  concatTables,
  fromBatch,
  type Row,
  rowsToTable,
  sampleOf,
  toBatch,
  toRows,
  toVector,
} from './block.js';
import { keepMetadata } from './schema.js';

export type StageKind =
  | 'map'
  | 'mapBatches'
  | 'flatMap'
  | 'filter'
  | 'addColumn'
  | 'dropColumns'
  | 'selectColumns'
  | 'write';

export interface Stage {
  kind: StageKind;
  /** The operator's name in stats and errors, e.g. "MapBatches(normalize)". */
  name: string;
  /** The user function (shipped as tray.remote code); absent for column selection. */
  fn?: RemoteFunction;
  batchSize?: number | null;
  batchFormat?: BatchFormat;
  /** addColumn: the new column; dropColumns/selectColumns: the columns. */
  column?: string;
  columns?: string[];
  /** Extra arguments after the batch or row (Ray's fn_args). */
  fnArgs?: unknown[];
  /** write: the sink's options, handed to its write function. */
  sinkOptions?: unknown;
}

/** A mapBatches stage whose function is a class, run on an actor pool. */
export interface ActorStage extends Stage {
  cls: ActorClass;
  fnConstructorArgs: unknown[];
  /** Task stages fused into the pool (Ray fuses task maps into a downstream actor pool): run on each block first. */
  before?: Stage[];
}

/** A user function threw: says which operator and shows the start of the batch it threw on. */
export class UserCodeError extends Error {
  readonly operator: string;
  constructor(operator: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserCodeError';
    this.operator = operator;
  }
}

export type LoadedFn = (...args: unknown[]) => unknown;

/** Runs `stages` over one block; `load` gives each stage's function in this process. */
export async function applyStages(
  table: Table,
  stages: Stage[],
  load: (stage: Stage) => Promise<LoadedFn | undefined>,
  index = 0,
  part = 0,
): Promise<Table> {
  let current = table;
  for (const stage of stages) {
    const fn = await load(stage);
    current = await applyStage(current, stage, fn, index, part);
  }
  return current;
}

/**
 * `index` is the position in the dataset of the task that made the block, `part` the block's
 * position among that task's blocks (a read of a big file makes several): writes name files by them.
 */
export async function applyStage(
  table: Table,
  stage: Stage,
  fn: LoadedFn | undefined,
  index = 0,
  part = 0,
): Promise<Table> {
  const extra = stage.fnArgs ?? [];
  switch (stage.kind) {
    case 'write': {
      // A sink's write, fused into the task that made the block: the block becomes one row
      // holding what the write returned (a file path for the built-in sinks).
      const result = await fn!(table, { index, part, options: stage.sinkOptions });
      return new Table({ result: vectorFromArray([JSON.stringify(result ?? null)], new Utf8()) });
    }
    case 'selectColumns':
      return selectColumns(table, stage.columns!, stage.name);
    case 'dropColumns': {
      missingColumns(table, stage.columns!, stage.name);
      const drop = new Set(stage.columns);
      return table.select(table.schema.fields.map((f) => f.name).filter((n) => !drop.has(n)));
    }
    case 'map': {
      const rows = toRows(table);
      const out: Row[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++)
        out[i] = (await guarded(stage, table, () => fn!(rows[i], ...extra))) as Row;
      return rowsToTable(out, table.schema, `${stage.name}: the function`);
    }
    case 'flatMap': {
      const out: Row[] = [];
      for (const row of toRows(table)) {
        const produced = await guarded(stage, table, () => fn!(row, ...extra));
        if (produced === null || typeof produced !== 'object' || !(Symbol.iterator in (produced as object))) {
          throw new UserCodeError(
            stage.name,
            `${stage.name}: the function must return an array (or iterable) of rows`,
          );
        }
        for (const r of produced as Iterable<Row>) out.push(r);
      }
      return rowsToTable(out, table.schema, `${stage.name}: the function`);
    }
    case 'filter': {
      const rows = toRows(table);
      const keep: number[] = [];
      for (let i = 0; i < rows.length; i++)
        if (await guarded(stage, table, () => fn!(rows[i], ...extra))) keep.push(i);
      return takeIndices(table, keep);
    }
    case 'addColumn': {
      const values = await guarded(stage, table, () =>
        fn!(toBatch(table, stage.batchFormat ?? 'columns'), ...extra),
      );
      const column = toVector(values as ArrayLike<unknown>, undefined);
      if (column.length !== table.numRows) {
        throw new UserCodeError(
          stage.name,
          `${stage.name}: the function returned ${column.length} values for a batch of ${table.numRows} rows`,
        );
      }
      const names = table.schema.fields.map((f) => f.name).filter((n) => n !== stage.column);
      const vectors: Record<string, import('apache-arrow').Vector> = {};
      for (const n of names) vectors[n] = table.getChild(n)!;
      vectors[stage.column!] = column;
      return new Table(vectors);
    }
    case 'mapBatches':
      return mapBatches(table, stage, (batch) => fn!(batch, ...extra));
  }
}

/** mapBatches over one block: batches of `batchSize` rows (the whole block when null). */
export async function mapBatches(
  table: Table,
  stage: Stage,
  call: (batch: unknown) => unknown,
): Promise<Table> {
  const format = stage.batchFormat ?? 'arrow';
  const size = stage.batchSize ?? table.numRows;
  const outputs: Table[] = [];
  for (
    let start = 0;
    start < table.numRows || (start === 0 && table.numRows === 0);
    start += Math.max(size, 1)
  ) {
    const slice = table.numRows === 0 ? table : table.slice(start, start + size);
    const result = await guarded(stage, slice, () => call(toBatch(slice, format)));
    outputs.push(fromBatch(result, format, slice.schema, `${stage.name}: the function`));
    if (table.numRows === 0) break;
  }
  return concatTables(outputs);
}

/** Calls user code; a throw becomes a UserCodeError naming the operator, with a sample. */
export async function guarded<T>(stage: Stage, batch: Table, call: () => T): Promise<Awaited<T>> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof UserCodeError) throw error;
    const e = error as Error;
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(error);
    throw new UserCodeError(
      stage.name,
      `${stage.name} failed: the user function threw ${what}\n  on a batch of ${batch.numRows} rows starting with ${sampleOf(batch)}`,
      { cause: error },
    );
  }
}

export function selectColumns(table: Table, columns: string[], where: string): Table {
  missingColumns(table, columns, where);
  return table.select(columns);
}

function missingColumns(table: Table, columns: string[], where: string): void {
  const have = new Set(table.schema.fields.map((f) => f.name));
  const missing = columns.filter((c) => !have.has(c));
  if (missing.length > 0) {
    throw new UserCodeError(
      where,
      `${where}: no column ${missing.map((m) => JSON.stringify(m)).join(', ')} in the dataset; its columns are ${[...have].map((h) => JSON.stringify(h)).join(', ') || '(none)'}`,
    );
  }
}

function isIdentity(indices: ArrayLike<number>, numRows: number): boolean {
  if (indices.length !== numRows) return false;
  for (let i = 0; i < numRows; i++) if (indices[i] !== i) return false;
  return true;
}

function gather(source: Float64Array, indices: ArrayLike<number>): Float64Array {
  const out = new (source.constructor as Float64ArrayConstructor)(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = source[indices[i]!]!;
  return out;
}

/** The rows at `indices`, in that order, keeping column types. */
export function takeIndices(table: Table, indices: ArrayLike<number>): Table {
  if (isIdentity(indices, table.numRows)) return table;
  if (table.schema.fields.length === 0) return table;
  const vectors: Record<string, import('apache-arrow').Vector> = {};
  for (const field of table.schema.fields) {
    const column = table.getChild(field.name)!;
    const id = field.type.typeId as number;
    if (column.nullCount === 0 && (id === 2 || id === 3)) {
      // Numbers without nulls: gather straight between typed arrays.
      const source = column.toArray() as Float64Array;
      vectors[field.name] = makeVector(gather(source, indices));
      continue;
    }
    const values = new Array(indices.length);
    for (let i = 0; i < indices.length; i++) values[i] = column.get(indices[i]!);
    vectors[field.name] = toVector(values, field.type);
  }
  return keepMetadata(new Table(vectors), table);
}
