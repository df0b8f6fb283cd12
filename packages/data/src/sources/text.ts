// readText: one row { text } per line of each file (a trailing newline adds no empty row).
import { readFileSync } from 'node:fs';
import { Table, Utf8, vectorFromArray } from 'apache-arrow';
import type { BuiltinReadTask } from './datasource.js';
import { expandPaths } from './paths.js';

export function textTasks(paths: string | string[]): BuiltinReadTask[] {
  return expandPaths(paths, undefined, 'readText').map((path) => ({
    builtin: 'readTextPiece',
    args: { path },
    source: path,
  }));
}

export function readTextPiece(args: { path: string }): Table {
  const lines = readFileSync(args.path, 'utf8').split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return new Table({ text: vectorFromArray(lines, new Utf8()) });
}
