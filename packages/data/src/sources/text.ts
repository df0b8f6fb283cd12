// readText: one row { text } per line of each file (a trailing newline adds no empty row),
// read in chunks (chunks.ts): a batch of lines per chunk of the file.
import { Table, Utf8, vectorFromArray } from 'apache-arrow';
import { lineChunks } from './chunks.js';
import type { BuiltinReadTask } from './datasource.js';
import { expandPaths } from './paths.js';

export function textTasks(paths: string | string[]): BuiltinReadTask[] {
  return expandPaths(paths, undefined, 'readText').map((path) => ({
    builtin: 'readTextPiece',
    args: { path },
    source: path,
  }));
}

export async function* readTextPiece(args: { path: string }): AsyncGenerator<Table> {
  let any = false;
  for await (const { lines } of lineChunks(args.path, 'readText')) {
    any = true;
    yield new Table({ text: vectorFromArray(lines, new Utf8()) });
  }
  if (!any) yield new Table({ text: vectorFromArray([], new Utf8()) });
}
