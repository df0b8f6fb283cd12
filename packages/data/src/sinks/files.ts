// The built-in file sinks: writeParquet, writeCsv, writeJson (JSON lines). One file per block,
// named <prefix>_<task index, 6 digits>[_<part>].<ext> in the output directory, so a rerun overwrites
// rather than duplicates and the files sort in dataset order.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Table } from 'apache-arrow';
import { encodeBlock, toRows } from '../block.js';
import { withoutSource } from '../schema.js';
import { parquetBytes } from '../sources/parquet.js';
import type { WriteContext } from './datasink.js';

export interface FileSinkOptions {
  dir: string;
  prefix: string;
}

function target(ctx: WriteContext, ext: string): string {
  const o = ctx.options as FileSinkOptions;
  mkdirSync(o.dir, { recursive: true });
  const part = ctx.part > 0 ? `_${String(ctx.part).padStart(4, '0')}` : '';
  return path.join(o.dir, `${o.prefix}_${String(ctx.index).padStart(6, '0')}${part}.${ext}`);
}

export async function writeParquetBlock(table: Table, ctx: WriteContext): Promise<string> {
  const file = target(ctx, 'parquet');
  writeFileSync(file, await parquetBytes(encodeBlock(withoutSource(table))));
  return file;
}

export async function writeCsvBlock(table: Table, ctx: WriteContext): Promise<string> {
  const { stringify } = await import('csv-stringify/sync');
  const names = table.schema.fields.map((f) => f.name);
  const rows = toRows(table).map((r) => names.map((n) => (r[n] === null || r[n] === undefined ? '' : r[n])));
  const file = target(ctx, 'csv');
  writeFileSync(file, stringify([names, ...rows], { cast: { boolean: (b) => String(b) } }));
  return file;
}

export function writeJsonBlock(table: Table, ctx: WriteContext): string {
  const file = target(ctx, 'jsonl');
  const lines = toRows(table).map((r) =>
    JSON.stringify(r, (_k, v) =>
      v instanceof Uint8Array ? Array.from(v) : typeof v === 'bigint' ? Number(v) : v,
    ),
  );
  writeFileSync(file, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  return file;
}
