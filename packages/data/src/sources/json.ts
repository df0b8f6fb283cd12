// readJson: JSON lines (one object per line), read in chunks (chunks.ts) into a batch per
// chunk, or a file holding one JSON array of objects (read whole); one task per file. A bad
// line says the file and the line number.
import { readFileSync } from 'node:fs';
import type { Schema, Table } from 'apache-arrow';
import { type Row, rowsToTable } from '../block.js';
import { lineChunks } from './chunks.js';
import type { BuiltinReadTask } from './datasource.js';
import { expandPaths } from './paths.js';

export function jsonTasks(paths: string | string[]): BuiltinReadTask[] {
  return expandPaths(paths, ['.json', '.jsonl', '.ndjson'], 'readJson').map((path) => ({
    builtin: 'readJsonPiece',
    args: { path },
    source: path,
  }));
}

export async function* readJsonPiece(args: { path: string }): AsyncGenerator<Table> {
  const where = `readJson: ${args.path}`;
  let schema: Schema | undefined;
  let first = true;
  for await (const { lines, firstLine } of lineChunks(args.path, 'readJson')) {
    if (first && (lines.find((l) => l.trim() !== '') ?? '').trimStart().startsWith('[')) {
      yield arrayFile(args.path);
      return;
    }
    first = false;
    const rows: Row[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '') continue;
      try {
        rows.push(JSON.parse(line));
      } catch (error) {
        throw new Error(
          `readJson: ${args.path}: line ${firstLine + i} is not valid JSON: ${(error as Error).message}`,
        );
      }
    }
    if (rows.length === 0) continue;
    // Later chunks keep the first chunk's column types where their values fit.
    const table = rowsToTable(rows, schema, where);
    schema ??= table.schema;
    yield table;
  }
  if (first) yield rowsToTable([], undefined, where);
}

function arrayFile(path: string): Table {
  let rows: Row[];
  try {
    rows = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`readJson: ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return rowsToTable(rows, undefined, `readJson: ${path}`);
}
