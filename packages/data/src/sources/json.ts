// readJson: JSON lines (one object per line) or a file holding one JSON array of objects; one
// task per file. A bad line says the file and the line number.
import { readFileSync } from 'node:fs';
import type { Table } from 'apache-arrow';
import { type Row, rowsToTable } from '../block.js';
import type { BuiltinReadTask } from './datasource.js';
import { expandPaths } from './paths.js';

export function jsonTasks(paths: string | string[]): BuiltinReadTask[] {
  return expandPaths(paths, ['.json', '.jsonl', '.ndjson'], 'readJson').map((path) => ({
    builtin: 'readJsonPiece',
    args: { path },
    source: path,
  }));
}

export function readJsonPiece(args: { path: string }): Table {
  const text = readFileSync(args.path, 'utf8');
  let rows: Row[];
  if (text.trimStart().startsWith('[')) {
    try {
      rows = JSON.parse(text);
    } catch (error) {
      throw new Error(`readJson: ${args.path} is not valid JSON: ${(error as Error).message}`);
    }
  } else {
    rows = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '') continue;
      try {
        rows.push(JSON.parse(line));
      } catch (error) {
        throw new Error(
          `readJson: ${args.path}: line ${i + 1} is not valid JSON: ${(error as Error).message}`,
        );
      }
    }
  }
  return rowsToTable(rows, undefined, `readJson: ${args.path}`);
}
