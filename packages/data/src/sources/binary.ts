// readBinaryFiles: one row per file, { bytes } (and { path } with includePaths).
import { readFileSync } from 'node:fs';
import { Binary, Table, Utf8, type Vector, vectorFromArray } from 'apache-arrow';
import type { BuiltinReadTask } from './datasource.js';
import { expandPaths } from './paths.js';

export function binaryTasks(
  paths: string | string[],
  options: { includePaths?: boolean },
): BuiltinReadTask[] {
  return expandPaths(paths, undefined, 'readBinaryFiles').map((path) => ({
    builtin: 'readBinaryPiece',
    args: { path, includePaths: options.includePaths === true },
    source: path,
    numRows: 1,
  }));
}

export function readBinaryPiece(args: { path: string; includePaths: boolean }): Table {
  const bytes = new Uint8Array(readFileSync(args.path));
  const columns: Record<string, Vector> = { bytes: vectorFromArray([bytes], new Binary()) };
  if (args.includePaths) columns.path = vectorFromArray([args.path], new Utf8());
  return new Table(columns);
}
