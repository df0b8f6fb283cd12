// readCsv: one task per file, parsed with csv-parse (the node-csv project: RFC 4180 quoting,
// maintained, pure JS). Column types are inferred per file the way a user expects from a CSV:
// integers, numbers, booleans, empty fields as null, text otherwise. A malformed line fails the
// read with the file's path and the parser's line number.
import { readFileSync } from 'node:fs';
import { Bool, Float64, Int32, Table, Utf8, type Vector, vectorFromArray } from 'apache-arrow';
import type { BuiltinReadTask } from './datasource.js';
import { expandPaths } from './paths.js';

export interface ReadCsvOptions {
  /** Field delimiter (default ","). */
  delimiter?: string;
}

export function csvTasks(paths: string | string[], options: ReadCsvOptions): BuiltinReadTask[] {
  return expandPaths(paths, ['.csv', '.csv.txt', '.tsv'], 'readCsv').map((path) => ({
    builtin: 'readCsvPiece',
    args: { path, delimiter: options.delimiter ?? (path.endsWith('.tsv') ? '\t' : ',') },
    source: path,
  }));
}

export async function readCsvPiece(args: { path: string; delimiter: string }): Promise<Table> {
  const { parse } = await import('csv-parse/sync');
  let records: string[][];
  try {
    records = parse(readFileSync(args.path), {
      delimiter: args.delimiter,
      skip_empty_lines: true,
      relax_quotes: false,
    });
  } catch (error) {
    throw new Error(`readCsv: ${args.path}: ${(error as Error).message}`);
  }
  const [header, ...rows] = records;
  if (header === undefined) return new Table();
  const vectors: Record<string, Vector> = {};
  header.forEach((name, c) => {
    vectors[name] = inferColumn(rows.map((r) => r[c] ?? ''));
  });
  return new Table(vectors);
}

function inferColumn(raw: string[]): Vector {
  const present = raw.filter((v) => v !== '');
  const nulls = (parse: (v: string) => unknown) => raw.map((v) => (v === '' ? null : parse(v)));
  if (present.length > 0 && present.every((v) => /^-?\d+$/.test(v) && Math.abs(Number(v)) <= 2147483647)) {
    return vectorFromArray(nulls(Number), new Int32());
  }
  if (present.length > 0 && present.every((v) => v.trim() !== '' && Number.isFinite(Number(v)))) {
    return vectorFromArray(nulls(Number), new Float64());
  }
  if (present.length > 0 && present.every((v) => v === 'true' || v === 'false')) {
    return vectorFromArray(
      nulls((v) => v === 'true'),
      new Bool(),
    );
  }
  return vectorFromArray(nulls(String), new Utf8());
}
