// readCsv: one task per file, parsed as a stream with csv-parse (the node-csv project: RFC 4180
// quoting, maintained, pure JS), a batch per chunk of the file (chunks.ts's CHUNK_BYTES).
// Column types are inferred the way a user expects from a CSV (integers, numbers, booleans,
// empty fields as null, text otherwise), from the first chunk; later chunks keep its types
// where their values fit. A malformed line fails the read with the path and the line number.
import { createReadStream } from 'node:fs';
import { Bool, type DataType, Float64, Int32, Table, Utf8, type Vector, vectorFromArray } from 'apache-arrow';
import { CHUNK_BYTES } from './chunks.js';
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

export async function* readCsvPiece(args: { path: string; delimiter: string }): AsyncGenerator<Table> {
  const { parse } = await import('csv-parse');
  const parser = parse({ delimiter: args.delimiter, skip_empty_lines: true, relax_quotes: false });
  const source = createReadStream(args.path, { highWaterMark: CHUNK_BYTES });
  source.on('error', (error: NodeJS.ErrnoException) =>
    parser.destroy(new Error(`readCsv: cannot open ${args.path}: ${error.code ?? error.message}`)),
  );
  source.pipe(parser);
  let header: string[] | undefined;
  let rows: string[][] = [];
  let cut = 0;
  let like: Table | undefined;
  const batch = () => {
    const vectors: Record<string, Vector> = {};
    header!.forEach((name, c) => {
      vectors[name] = inferColumn(
        rows.map((r) => r[c] ?? ''),
        like?.schema.fields[c]?.type,
      );
    });
    rows = [];
    like ??= new Table(vectors);
    return new Table(vectors);
  };
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (header === undefined) {
        header = record;
        continue;
      }
      rows.push(record);
      if (parser.info.bytes - cut >= CHUNK_BYTES) {
        cut = parser.info.bytes;
        yield batch();
      }
    }
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.startsWith('readCsv: ') ? message : `readCsv: ${args.path}: ${message}`);
  } finally {
    source.destroy();
  }
  if (header === undefined) yield new Table();
  else if (rows.length > 0 || like === undefined) yield batch();
}

/** A column's type from its text; `hint` (the type of the file's first chunk) wins if it fits. */
function inferColumn(raw: string[], hint: DataType | undefined): Vector {
  const present = raw.filter((v) => v !== '');
  const nulls = (parse: (v: string) => unknown) => raw.map((v) => (v === '' ? null : parse(v)));
  const isInt = () => present.every((v) => /^-?\d+$/.test(v) && Math.abs(Number(v)) <= 2147483647);
  const isNumber = () => present.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
  const isBool = () => present.every((v) => v === 'true' || v === 'false');
  const hinted = hint === undefined ? '' : String(hint);
  if (hinted === 'Int32' && isInt()) return vectorFromArray(nulls(Number), new Int32());
  if (hinted === 'Float64' && isNumber()) return vectorFromArray(nulls(Number), new Float64());
  if (hinted === 'Bool' && isBool())
    return vectorFromArray(
      nulls((v) => v === 'true'),
      new Bool(),
    );
  if (hinted === 'Utf8') return vectorFromArray(nulls(String), new Utf8());
  if (present.length > 0 && isInt()) {
    return vectorFromArray(nulls(Number), new Int32());
  }
  if (present.length > 0 && isNumber()) {
    return vectorFromArray(nulls(Number), new Float64());
  }
  if (present.length > 0 && isBool()) {
    return vectorFromArray(
      nulls((v) => v === 'true'),
      new Bool(),
    );
  }
  return vectorFromArray(nulls(String), new Utf8());
}
