// readCsv: one task per file (or per byte range of a large file, ranges.ts), parsed as a stream with csv-parse (the node-csv project: RFC 4180
// quoting, maintained, pure JS), a batch per chunk of the file (chunks.ts's CHUNK_BYTES).
// Column types are inferred the way a user expects from a CSV (integers, numbers, booleans,
// empty fields as null, text otherwise), from the first chunk with values in the column; later
// chunks keep its types where their values fit, and a chunk whose column is all empty has it
// typed Null, which joins with the other chunks' type. A malformed line fails the read with the path and the line number.
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  Bool,
  type DataType,
  Float64,
  Int32,
  Null,
  Table,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { CHUNK_BYTES } from './chunks.js';
import type { BuiltinReadTask } from './datasource.js';
import { expandPaths } from './paths.js';
import { lineRanges } from './ranges.js';

export interface ReadCsvOptions {
  /** Field delimiter (default ","). */
  delimiter?: string;
}

/**
 * One task per file, or per byte range of a file larger than `targetBytes` whose quoted fields
 * hold no newline (ranges.ts); each range's task is given the file's header.
 */
export async function csvTasks(
  paths: string | string[],
  options: ReadCsvOptions,
  targetBytes: number,
): Promise<BuiltinReadTask[]> {
  const tasks: BuiltinReadTask[] = [];
  for (const path of expandPaths(paths, ['.csv', '.csv.txt', '.tsv'], 'readCsv')) {
    const delimiter = options.delimiter ?? (path.endsWith('.tsv') ? '\t' : ',');
    const split =
      statSync(path).size > targetBytes
        ? await lineRanges(path, targetBytes, { header: true, quote: '"' })
        : undefined;
    if (split === undefined) {
      tasks.push({ builtin: 'readCsvPiece', args: { path, delimiter }, source: path });
      continue;
    }
    const header = await headerOf(path, split.headerEnd, delimiter);
    for (const [start, end] of split.ranges) {
      tasks.push({
        builtin: 'readCsvPiece',
        args: { path, delimiter, start, end, header },
        source: `${path} (bytes ${start}-${end})`,
      });
    }
  }
  return tasks;
}

async function headerOf(path: string, headerEnd: number, delimiter: string): Promise<string[]> {
  const { parse } = await import('csv-parse/sync');
  const handle = await open(path, 'r');
  try {
    const bytes = Buffer.alloc(headerEnd);
    await handle.read(bytes, 0, headerEnd, 0);
    return (parse(bytes, { delimiter }) as string[][])[0] ?? [];
  } finally {
    await handle.close();
  }
}

interface CsvPiece {
  path: string;
  delimiter: string;
  /** A byte range of the file (after its header, given in `header`), or the whole file. */
  start?: number;
  end?: number;
  header?: string[];
}

export async function* readCsvPiece(args: CsvPiece): AsyncGenerator<Table> {
  const { parse } = await import('csv-parse');
  const parser = parse({ delimiter: args.delimiter, skip_empty_lines: true, relax_quotes: false });
  const source = createReadStream(
    args.path,
    args.start === undefined
      ? { highWaterMark: CHUNK_BYTES }
      : { highWaterMark: CHUNK_BYTES, start: args.start, end: args.end! - 1 },
  );
  source.on('error', (error: NodeJS.ErrnoException) =>
    parser.destroy(new Error(`readCsv: cannot open ${args.path}: ${error.code ?? error.message}`)),
  );
  source.pipe(parser);
  let header: string[] | undefined = args.header;
  let rows: string[][] = [];
  let cut = 0;
  // Per column, the type of the first chunk where it had a value (later chunks keep it if they fit).
  const types: (DataType | undefined)[] = [];
  const batch = () => {
    const vectors: Record<string, Vector> = {};
    header!.forEach((name, c) => {
      const column = inferColumn(
        rows.map((r) => r[c] ?? ''),
        types[c],
      );
      if (types[c] === undefined && !(column.type instanceof Null)) types[c] = column.type;
      vectors[name] = column;
    });
    rows = [];
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
    // A range's line numbers count from its first byte.
    const where = args.start === undefined ? args.path : `${args.path} (the range from byte ${args.start})`;
    throw new Error(message.startsWith('readCsv: ') ? message : `readCsv: ${where}: ${message}`);
  } finally {
    source.destroy();
  }
  if (header === undefined) yield new Table();
  else if (rows.length > 0 || cut === 0) yield batch();
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
  // All empty: nulls of no type yet, which join with the type other chunks give the column.
  if (present.length === 0) return vectorFromArray(nulls(String), new Null());
  return vectorFromArray(nulls(String), new Utf8());
}
