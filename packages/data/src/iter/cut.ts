// Cutting blocks into batches of `batchSize` rows cheaply, for iterBatches. A batch inside one
// record batch of a block is cut from its buffers directly: typed-array subarrays for numeric
// columns in the 'columns' format (no copy), row objects read from those arrays for 'rows', and
// a one-batch Table over a sliced Data for 'arrow' — never Table.slice, whose cost grows with
// the chunks and schema work it redoes per call. Only a batch that spans record batches (or
// blocks) is joined, through concatTables, so blocks whose schemas disagree still fail there;
// one that spans blocks is copied, so that it pins no block's store memory.
import { type Data, RecordBatch, type Schema, Table, tableFromIPC, tableToIPC, Vector } from 'apache-arrow';
import {
  type Batch,
  type BatchFormat,
  columnValues,
  concatTables,
  plain,
  type Row,
  toBatch,
} from '../block.js';

interface Typed extends ArrayLike<unknown> {
  subarray(start: number, end: number): Typed;
}

/** One record batch of a block, with its numeric no-null columns as typed arrays. */
interface Run {
  /** The table (one block) the run is from. */
  table: Table;
  schema: Schema;
  batch: RecordBatch;
  names: string[];
  /** Per column: its values as a typed array (numeric, no nulls), or undefined. */
  typed: ((ArrayLike<unknown> & { subarray(s: number, e: number): ArrayLike<unknown> }) | undefined)[];
}

/** Rows [start, end) of one run. */
interface Piece {
  run: Run;
  start: number;
  end: number;
}

function runsOf(table: Table): Run[] {
  const names = table.schema.fields.map((f) => f.name);
  return table.batches
    .filter((b) => b.numRows > 0)
    .map((batch) => ({
      table,
      schema: table.schema,
      batch,
      names,
      typed: batch.data.children.map((child) => typedValues(child)),
    }));
}

function typedValues(child: Data): Typed | undefined {
  const id = child.typeId as number;
  // Int (2) and Float (3) without nulls; half floats are stored as Uint16 bits, so not those.
  if (!(id === 2 || id === 3) || child.nullCount !== 0) return undefined;
  if (id === 3 && (child.type as unknown as { precision: number }).precision === 0) return undefined;
  const values = child.values as unknown as Typed | undefined;
  if (values === undefined || !ArrayBuffer.isView(values)) return undefined;
  return values.subarray(child.offset, child.offset + child.length);
}

/** Rows [start, end) of a run as a Table that shares the run's buffers. */
function pieceTable({ run, start, end }: Piece): Table {
  const data =
    start === 0 && end === run.batch.numRows ? run.batch.data : run.batch.data.slice(start, end - start);
  return new Table(run.schema, [sliceOf(run.batch, data)], new Uint32Array([0, end - start]));
}

/**
 * A RecordBatch over `data`, a slice of `batch`'s data (same schema, children of equal length).
 * The constructor would re-check the lengths and copy the schema with its metadata (most of a
 * small batch's cost); a slice needs neither, so its three fields are set directly.
 */
function sliceOf(batch: RecordBatch, data: Data): RecordBatch {
  const out = Object.create(RecordBatch.prototype) as RecordBatch & { _metadata: Map<string, string> };
  (out as { schema: Schema }).schema = batch.schema;
  (out as { data: Data }).data = data;
  out._metadata = (batch as unknown as { _metadata: Map<string, string> })._metadata;
  return out;
}

function pieceBatch(piece: Piece, format: BatchFormat): Batch {
  const { run, start, end } = piece;
  if (format === 'arrow') return pieceTable(piece);
  const n = run.names.length;
  if (format === 'columns') {
    const out: Record<string, ArrayLike<unknown>> = {};
    for (let c = 0; c < n; c++) {
      const typed = run.typed[c];
      out[run.names[c]!] =
        typed !== undefined
          ? typed.subarray(start, end)
          : columnValues(new Vector([run.batch.data.children[c]!.slice(start, end - start)]));
    }
    return out;
  }
  const columns: ArrayLike<unknown>[] = [];
  const vectors: (Vector | undefined)[] = [];
  for (let c = 0; c < n; c++) {
    const typed = run.typed[c];
    columns.push(typed ?? []);
    vectors.push(typed === undefined ? new Vector([run.batch.data.children[c]!]) : undefined);
  }
  const rows: Row[] = new Array(end - start);
  for (let i = start; i < end; i++) {
    const row: Row = {};
    for (let c = 0; c < n; c++) {
      const v = vectors[c];
      row[run.names[c]!] = v === undefined ? columns[c]![i] : plain(v.get(i));
    }
    rows[i - start] = row;
  }
  return rows;
}

/**
 * Cuts the tables pushed into it into batches of `size` rows (null: each table whole). Pieces of
 * a batch that spans tables wait in `pending` until the batch is full.
 */
export class Cutter {
  private pending: Piece[] = [];
  private pendingRows = 0;

  constructor(
    private readonly size: number | null,
    private readonly format: BatchFormat,
    private readonly dropLast = false,
  ) {}

  *push(table: Table): Generator<Batch> {
    if (table.numRows === 0) return;
    if (this.size === null) {
      yield toBatch(table, this.format);
      return;
    }
    const size = this.size;
    for (const run of runsOf(table)) {
      const rows = run.batch.numRows;
      let at = 0;
      if (this.pendingRows > 0) {
        const take = Math.min(size - this.pendingRows, rows);
        this.pending.push({ run, start: 0, end: take });
        this.pendingRows += take;
        at = take;
        if (this.pendingRows < size) continue;
        yield this.joinPending();
      }
      for (; at + size <= rows; at += size) yield pieceBatch({ run, start: at, end: at + size }, this.format);
      if (at < rows) {
        this.pending.push({ run, start: at, end: rows });
        this.pendingRows = rows - at;
      }
    }
  }

  /** The last, partial batch (unless dropLast). */
  *finish(): Generator<Batch> {
    if (this.pendingRows > 0 && !this.dropLast) yield this.joinPending();
    this.pending = [];
    this.pendingRows = 0;
  }

  private joinPending(): Batch {
    const pieces = this.pending;
    this.pending = [];
    this.pendingRows = 0;
    if (pieces.length === 1) return pieceBatch(pieces[0]!, this.format);
    const joined = concatTables(pieces.map(pieceTable));
    // A batch over several blocks is copied out of them: its views would keep every one of
    // those blocks' store memory pinned for as long as the caller holds the batch (until V8
    // collects it), after the executor counted them released — a batch of many small blocks
    // then held more than the budget and the store spilled. Copied, only the block being cut
    // stays pinned. Pieces of one table share its buffers already, so they are not copied.
    const tables = new Set(pieces.map((p) => p.run.table));
    return toBatch(tables.size > 1 ? copyOf(joined) : joined, this.format);
  }
}

/** `table` in buffers of this process's heap (one copy, through Arrow's IPC stream format). */
function copyOf(table: Table): Table {
  return tableFromIPC(tableToIPC(table, 'stream'));
}
