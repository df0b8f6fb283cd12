// readJson: JSON lines (one object per line), read in chunks (chunks.ts) into a batch per
// chunk, or a file holding one JSON array of objects (read whole); one task per file, or per
// byte range of a large JSON-lines file. A bad
// line says the file and the line number.
import { readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Schema, Table } from 'apache-arrow';
import { type Row, rowsToTable } from '../block.js';
import { lineChunks } from './chunks.js';
import type { BuiltinReadTask } from './datasource.js';
import { expandPaths } from './paths.js';
import { lineRanges } from './ranges.js';

/**
 * One task per file, or per byte range (at line ends, ranges.ts) of a JSON-lines file larger
 * than `targetBytes` (a JSON string holds no raw newline, so every line end is a record end).
 */
export async function jsonTasks(paths: string | string[], targetBytes: number): Promise<BuiltinReadTask[]> {
  const tasks: BuiltinReadTask[] = [];
  for (const path of expandPaths(paths, ['.json', '.jsonl', '.ndjson'], 'readJson')) {
    const split =
      statSync(path).size > targetBytes && !(await startsWithArray(path))
        ? await lineRanges(path, targetBytes, { header: false })
        : undefined;
    if (split === undefined) {
      tasks.push({ builtin: 'readJsonPiece', args: { path }, source: path });
      continue;
    }
    for (const range of split.ranges)
      tasks.push({
        builtin: 'readJsonPiece',
        args: { path, range },
        source: `${path} (bytes ${range[0]}-${range[1]})`,
      });
  }
  return tasks;
}

/** Whether the file's first non-blank character opens a JSON array (read whole, not split). */
async function startsWithArray(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const bytes = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0);
    return bytes.subarray(0, bytesRead).toString('utf8').trimStart().startsWith('[');
  } finally {
    await handle.close();
  }
}

export async function* readJsonPiece(args: {
  path: string;
  range?: [number, number];
}): AsyncGenerator<Table> {
  const where = `readJson: ${args.path}`;
  let schema: Schema | undefined;
  let first = true;
  // A range's line numbers count from its first byte.
  const at = args.range === undefined ? '' : ` (the range from byte ${args.range[0]})`;
  for await (const { lines, firstLine } of lineChunks(args.path, 'readJson', args.range)) {
    if (
      first &&
      args.range === undefined &&
      (lines.find((l) => l.trim() !== '') ?? '').trimStart().startsWith('[')
    ) {
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
          `readJson: ${args.path}${at}: line ${firstLine + i} is not valid JSON: ${(error as Error).message}`,
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
