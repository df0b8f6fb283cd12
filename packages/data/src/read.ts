// The ways a dataset starts: range, fromItems, fromArrow, the file readers and a custom
// Datasource. Each returns a lazy Dataset; files are listed and footers read when it runs.
import * as tray from '@tray/core';
import { Table } from 'apache-arrow';
import { encodeBlock, metaOf, type Row, rowsToTable } from './block.js';
import { DataContext } from './context.js';
import { Dataset } from './dataset.js';
import type { BlockRef } from './exec/plan.js';
import { binaryTasks } from './sources/binary.js';
import { csvTasks, type ReadCsvOptions } from './sources/csv.js';
import type { Datasource } from './sources/datasource.js';
import { jsonTasks } from './sources/json.js';
import { parquetTasks, type ReadParquetOptions } from './sources/parquet.js';
import { rangeTasks } from './sources/range.js';
import { textTasks } from './sources/text.js';

export interface ReadOptions {
  /** The number of blocks (read tasks) to make, instead of the automatic choice. */
  overrideNumBlocks?: number;
}

function checkBlocks(o: ReadOptions, where: string): number | undefined {
  const n = o?.overrideNumBlocks;
  if (n !== undefined && !(Number.isInteger(n) && n > 0))
    throw new TypeError(`${where}: overrideNumBlocks must be a positive integer; got ${n}`);
  return n;
}

/** Rows { id: 0 .. n-1 }. */
export function range(n: number, options: ReadOptions = {}): Dataset<{ id: number }> {
  if (!(Number.isInteger(n) && n >= 0))
    throw new TypeError(`range: n must be a non-negative integer; got ${n}`);
  const override = checkBlocks(options, 'range');
  return new Dataset({
    op: 'read',
    name: 'ReadRange',
    parallelism: override,
    plan: async (parallelism) => {
      const bySize = Math.ceil((n * 8) / DataContext.getCurrent().targetMinBlockSize);
      return rangeTasks(n, override ?? Math.max(1, Math.min(parallelism, bySize)));
    },
  });
}

/** A dataset of the given rows (objects; any other value becomes { item: value }). */
export function fromItems<T extends Row = Row>(items: unknown[], options: ReadOptions = {}): Dataset<T> {
  if (!Array.isArray(items))
    throw new TypeError(`fromItems: expected an array of items, got ${typeof items}`);
  const override = checkBlocks(options, 'fromItems');
  const rows: Row[] = items.map((v) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)
      ? (v as Row)
      : { item: v },
  );
  const n = Math.max(1, Math.min(override ?? 1, rows.length));
  const tables: Table[] = [];
  for (let b = 0; b < n; b++)
    tables.push(
      rowsToTable(
        rows.slice(Math.floor((b * rows.length) / n), Math.floor(((b + 1) * rows.length) / n)),
        undefined,
        'fromItems',
      ),
    );
  return fromTables(tables, 'FromItems');
}

/** A dataset of one apache-arrow Table (or several: one block each). */
export function fromArrow<T extends Row = Row>(tables: Table | Table[]): Dataset<T> {
  const list = Array.isArray(tables) ? tables : [tables];
  for (const t of list)
    if (!(t instanceof Table))
      throw new TypeError('fromArrow: expected an apache-arrow Table or an array of them');
  return fromTables(list, 'FromArrow');
}

function fromTables<T extends Row>(tables: Table[], name: string): Dataset<T> {
  let blocks: Promise<BlockRef[]> | undefined;
  return new Dataset({
    op: 'blocks',
    name,
    blocks: () =>
      (blocks ??= Promise.all(
        tables.map(async (t) => {
          const bytes = encodeBlock(t);
          return { block: await tray.put(bytes), meta: metaOf(t, bytes) };
        }),
      )),
  });
}

function fileSource(
  name: string,
  plan: (
    parallelism: number,
  ) =>
    | Promise<import('./sources/datasource.js').AnyReadTask[]>
    | import('./sources/datasource.js').AnyReadTask[],
  options: ReadOptions,
): Dataset {
  const override = checkBlocks(options, name);
  return new Dataset({ op: 'read', name, parallelism: override, plan: async (p) => plan(p) });
}

export function readParquet(
  paths: string | string[],
  options: ReadParquetOptions & ReadOptions = {},
): Dataset {
  if (
    options.columns !== undefined &&
    (!Array.isArray(options.columns) || options.columns.some((c) => typeof c !== 'string'))
  ) {
    throw new TypeError(
      `readParquet: columns must be an array of column names; got ${JSON.stringify(options.columns)}`,
    );
  }
  return fileSource('ReadParquet', (p) => parquetTasks(paths, options, p), options);
}

export function readCsv(paths: string | string[], options: ReadCsvOptions & ReadOptions = {}): Dataset {
  return fileSource(
    'ReadCSV',
    () => csvTasks(paths, options, DataContext.getCurrent().targetMaxBlockSize),
    options,
  );
}

export function readJson(paths: string | string[], options: ReadOptions = {}): Dataset {
  return fileSource('ReadJSON', () => jsonTasks(paths, DataContext.getCurrent().targetMaxBlockSize), options);
}

export function readText(paths: string | string[], options: ReadOptions = {}): Dataset<{ text: string }> {
  return fileSource('ReadText', () => textTasks(paths), options) as Dataset<{ text: string }>;
}

export function readBinaryFiles(
  paths: string | string[],
  options: ReadOptions & { includePaths?: boolean } = {},
): Dataset<{ bytes: Uint8Array }> {
  return fileSource('ReadBinary', () => binaryTasks(paths, options), options) as Dataset<{
    bytes: Uint8Array;
  }>;
}

/** A dataset read through a custom Datasource. */
export function readDatasource(source: Datasource, options: ReadOptions = {}): Dataset {
  if (source === null || typeof source !== 'object' || typeof source.getReadTasks !== 'function') {
    throw new TypeError(
      'readDatasource: expected a Datasource (an object with name and getReadTasks(parallelism))',
    );
  }
  return fileSource(source.name ?? 'ReadDatasource', (p) => source.getReadTasks(p), options);
}
