// readParquet: Parquet files through parquet-wasm (the Rust parquet crate compiled to WebAssembly,
// which reads and writes Arrow directly). Planning reads only each file's footer (the file is
// opened as a lazy Blob); a read task reads a run of row groups of one file and only the
// projected columns, so row groups of one big file are read in parallel.
import { openAsBlob } from 'node:fs';
import { type Table, tableFromIPC } from 'apache-arrow';
import type { BuiltinReadTask } from './datasource.js';
import { expandPaths } from './paths.js';

export interface ReadParquetOptions {
  /** Read only these columns (in this order). */
  columns?: string[];
}

interface Piece {
  path: string;
  rowGroups: number[];
  columns?: string[];
  /** Rows in these row groups: read as one record batch (the reader's default is 1,024 rows). */
  rows?: number;
}

export async function parquetTasks(
  paths: string | string[],
  options: ReadParquetOptions,
  parallelism: number,
): Promise<BuiltinReadTask[]> {
  const files = expandPaths(paths, ['.parquet'], 'readParquet');
  const pw = await import('parquet-wasm');
  const groups: { path: string; rowGroup: number; rows: number }[] = [];
  for (const file of files) {
    let pf: import('parquet-wasm').ParquetFile;
    try {
      pf = await pw.ParquetFile.fromFile(await openAsBlob(file));
    } catch (error) {
      throw new Error(
        `readParquet: ${file} is not a readable Parquet file: ${(error as Error).message ?? error}`,
      );
    }
    if (options.columns !== undefined) {
      const schema = tableFromIPC(pf.schema().intoIPCStream()).schema;
      const have = schema.fields.map((f) => f.name);
      const missing = options.columns.filter((c) => !have.includes(c));
      if (missing.length > 0) {
        throw new Error(
          `readParquet: column ${missing.map((m) => JSON.stringify(m)).join(', ')} is not in ${file} (its columns: ${have.join(', ')})`,
        );
      }
    }
    const md = pf.metadata();
    for (let g = 0; g < md.numRowGroups(); g++)
      groups.push({ path: file, rowGroup: g, rows: md.rowGroup(g).numRows() });
    pf.free();
  }
  // One task per row group, merged (within a file) while there are more than `parallelism`.
  const pieces: (Piece & { rows: number })[] = groups.map((g) => ({
    path: g.path,
    rowGroups: [g.rowGroup],
    rows: g.rows,
  }));
  const target = Math.max(parallelism, files.length);
  while (pieces.length > target) {
    let merged = false;
    for (let i = 0; i + 1 < pieces.length && pieces.length > target; i++) {
      if (pieces[i]!.path === pieces[i + 1]!.path) {
        pieces[i]!.rowGroups.push(...pieces[i + 1]!.rowGroups);
        pieces[i]!.rows += pieces[i + 1]!.rows;
        pieces.splice(i + 1, 1);
        merged = true;
      }
    }
    if (!merged) break;
  }
  return pieces.map((p) => ({
    builtin: 'readParquetPiece',
    args: { path: p.path, rowGroups: p.rowGroups, columns: options.columns, rows: p.rows },
    source:
      p.rowGroups.length === groups.filter((g) => g.path === p.path).length
        ? p.path
        : `${p.path} (row groups ${p.rowGroups.join(',')})`,
    numRows: p.rows,
  }));
}

export async function readParquetPiece(piece: Piece): Promise<Table> {
  const pw = await import('parquet-wasm');
  const pf = await pw.ParquetFile.fromFile(await openAsBlob(piece.path));
  try {
    // One record batch per block: slicing batches and reading columns as typed arrays stay cheap.
    const batchSize = Math.max(1024, piece.rows ?? 0);
    const wasmTable = await pf.read({ rowGroups: piece.rowGroups, columns: piece.columns, batchSize });
    const table = tableFromIPC(wasmTable.intoIPCStream());
    return piece.columns === undefined ? table : table.select(piece.columns);
  } catch (error) {
    throw new Error(`readParquet: could not read ${piece.path}: ${(error as Error).message ?? error}`);
  } finally {
    pf.free();
  }
}

/** One block as Parquet bytes (the writer side, used by writeParquet). */
export async function parquetBytes(ipc: Uint8Array): Promise<Uint8Array> {
  const pw = await import('parquet-wasm');
  const wasmTable = pw.Table.fromIPCStream(ipc);
  return pw.writeParquet(wasmTable);
}
