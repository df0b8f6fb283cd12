// Dataset: a lazy, distributed table of rows. Transform methods return a new Dataset with one
// more plan node and run nothing; consuming methods (take, count, iterBatches, write*, ...)
// run the plan through the streaming executor. Names and defaults follow Ray Data.
import * as tray from '@tray/core';
import type { Schema } from 'apache-arrow';
import type { Batch, BatchFormat, Row } from './block.js';
import { BATCH_FORMATS } from './block.js';
import { collectSoon } from './exec/collect.js';
import { dropBlock, Execution } from './exec/execution.js';
import { execute } from './exec/executor.js';
import type { BlockRef, Compute, PlanNode } from './exec/plan.js';
import { describePlan } from './exec/plan.js';
import { remoteTask } from './exec/remote.js';
import { Stats } from './exec/stats.js';
import { GroupedData } from './grouped.js';
import {
  batchesOf,
  checkIterOptions,
  type DataIterator,
  type IterBatchesOptions,
  iterTables,
  rowsOf,
  tablesOf,
} from './iterate.js';
import {
  checkOptions,
  computeOf,
  keyList,
  type MapBatchesOptions,
  type MapOptions,
  positiveInt,
  randomPrefix,
  randomSeed,
  totalRows,
} from './options.js';
import { withoutSource } from './schema.js';
import { boundaries, evenSizes, mapReduce, reblock, zipBlocks } from './shuffle/plan.js';
import type { Datasink } from './sinks/datasink.js';
import { type SplitOptions, split, streamingSplit, trainTestSplit } from './splits.js';
import type { ActorStage, Stage, StageKind } from './stages.js';

export type { MapBatchesOptions, MapOptions } from './options.js';

type UserFn = (...args: any[]) => unknown;

export class Dataset<T extends Row = Row> {
  private lastStats: Stats | undefined;

  /** @internal Made by the read functions and by transforms. */
  constructor(readonly plan: PlanNode) {}

  // ---- row and batch transforms (lazy) ----

  map<U extends Row = Row>(
    fn: (row: T, ...args: any[]) => U | Promise<U>,
    options: MapOptions = {},
  ): Dataset<U> {
    return this.stage('map', 'Map', fn, options);
  }

  flatMap<U extends Row = Row>(
    fn: (row: T, ...args: any[]) => Iterable<U> | Promise<Iterable<U>>,
    options: MapOptions = {},
  ): Dataset<U> {
    return this.stage('flatMap', 'FlatMap', fn, options);
  }

  filter(fn: (row: T, ...args: any[]) => unknown, options: MapOptions = {}): Dataset<T> {
    return this.stage('filter', 'Filter', fn, options);
  }

  mapBatches<U extends Row = Row>(
    fn: UserFn | (new (...args: any[]) => { call(batch: any, ...args: any[]): unknown }),
    options: MapBatchesOptions = {},
  ): Dataset<U> {
    checkOptions(options, 'mapBatches');
    const format = options.batchFormat ?? 'columns';
    if (!BATCH_FORMATS.includes(format)) {
      throw new TypeError(
        `mapBatches: batchFormat must be one of ${BATCH_FORMATS.join(', ')}; got ${JSON.stringify(options.batchFormat)}`,
      );
    }
    const size = options.batchSize ?? null;
    if (size !== null && !(Number.isInteger(size) && size > 0)) {
      throw new TypeError(
        `mapBatches: batchSize must be a positive integer, or null for whole blocks; got ${options.batchSize}`,
      );
    }
    if (typeof fn === 'function' && /^class\b/.test(Function.prototype.toString.call(fn))) {
      const cls = tray.remote(fn as new (...a: any[]) => any, { captures: options.captures });
      const stage: ActorStage = {
        kind: 'mapBatches',
        name: `MapBatches(${fn.name || 'class'})`,
        batchSize: size,
        batchFormat: format,
        fnArgs: options.fnArgs,
        cls,
        fnConstructorArgs: options.fnConstructorArgs ?? [],
      };
      return new Dataset({ op: 'actorStage', input: this.plan, stage, compute: computeOf(options) });
    }
    if (options.fnConstructorArgs !== undefined) {
      throw new TypeError(
        'mapBatches: fnConstructorArgs is for a class (run on an actor pool); this is a function',
      );
    }
    return this.stage('mapBatches', 'MapBatches', fn as UserFn, options, {
      batchSize: size,
      batchFormat: format,
    });
  }

  /** A new column computed from each batch ('columns' format unless batchFormat says otherwise). */
  addColumn(
    name: string,
    fn: (batch: any) => ArrayLike<unknown>,
    options: MapOptions & { batchFormat?: BatchFormat } = {},
  ): Dataset<Row> {
    if (typeof name !== 'string' || name === '')
      throw new TypeError(
        `addColumn: the column name must be a non-empty string; got ${JSON.stringify(name)}`,
      );
    return this.stage(
      'addColumn',
      `AddColumn(${name})`,
      fn,
      options,
      { column: name, batchFormat: options.batchFormat ?? 'columns' },
      true,
    );
  }

  dropColumns(columns: string[]): Dataset<Row> {
    return this.columnStage('dropColumns', 'DropColumns', columns);
  }

  selectColumns(columns: string[]): Dataset<Row> {
    return this.columnStage('selectColumns', 'SelectColumns', columns);
  }

  limit(n: number): Dataset<T> {
    if (!(Number.isInteger(n) && n >= 0))
      throw new TypeError(`limit: n must be a non-negative integer; got ${n}`);
    return new Dataset({ op: 'limit', input: this.plan, n });
  }

  // ---- all-to-all (lazy; they materialize their input when run) ----

  repartition(numBlocks: number, options: { shuffle?: boolean } = {}): Dataset<T> {
    positiveInt(numBlocks, 'repartition: numBlocks');
    return this.allToAll(`Repartition(${numBlocks})`, async (input) => {
      if (options.shuffle)
        return mapReduce(
          input,
          numBlocks,
          { kind: 'random', seed: randomSeed() },
          { kind: 'concat' },
          'Repartition',
        );
      return reblock(input, evenSizes(totalRows(input), numBlocks));
    });
  }

  randomShuffle(options: { seed?: number } = {}): Dataset<T> {
    const seed = options.seed ?? randomSeed();
    return this.allToAll('RandomShuffle', (input) =>
      mapReduce(
        input,
        Math.max(1, input.length),
        { kind: 'random', seed },
        { kind: 'random', seed },
        'RandomShuffle',
      ),
    );
  }

  sort(key: string | string[], options: { descending?: boolean } = {}): Dataset<T> {
    const keys = keyList(key, 'sort');
    const descending = options.descending === true;
    return this.allToAll(`Sort(${keys.join(', ')})`, async (input) => {
      const n = Math.max(1, input.length);
      const bounds = await boundaries(input, keys, n, descending);
      return mapReduce(
        input,
        bounds.length + 1,
        { kind: 'range', key: keys, boundaries: bounds, descending },
        { kind: 'sort', key: keys, descending },
        'Sort',
      );
    });
  }

  groupBy(key: string | string[]): GroupedData<Dataset<Row>> {
    return new GroupedData(this as Dataset, keyList(key, 'groupBy'));
  }

  union(...others: Dataset[]): Dataset<T> {
    return new Dataset({ op: 'union', inputs: [this.plan, ...others.map((o) => o.plan)] });
  }

  /** Rows side by side with the rows of `other` (equal row counts); a clashing name gets "_1". */
  zip(other: Dataset): Dataset<Row> {
    return this.allToAll('Zip', async (left) =>
      zipBlocks(left, await other.materializedBlocks()),
    ) as Dataset<Row>;
  }

  // ---- splitting (splits.ts) ----
  /** n materialized datasets of near-equal rows (exactly equal, dropping the rest, with equal). */
  split(n: number, options: { equal?: boolean } = {}): Promise<Dataset<T>[]> {
    return split(this, n, options, (b, name) => fromBlocks<T>(b, name));
  }

  /** n iterators over one streaming execution, for consumers anywhere (splits.ts). */
  streamingSplit(n: number, options: { equal?: boolean } = {}): DataIterator[] {
    return streamingSplit(this, n, options);
  }

  /** [train, test]: the last floor(count × testSize) rows (after an optional shuffle) are the test set. */
  trainTestSplit(testSize: number, options: SplitOptions = {}): Promise<[Dataset<T>, Dataset<T>]> {
    return trainTestSplit(this, testSize, options, (b, name) => fromBlocks<T>(b, name));
  }

  // ---- consumption (runs the plan) ----

  async take(n = 20): Promise<T[]> {
    const rows: T[] = [];
    for await (const row of this.limit(n).iterRows()) rows.push(row);
    return rows;
  }

  async takeAll(): Promise<T[]> {
    const rows: T[] = [];
    for await (const row of this.iterRows()) rows.push(row);
    return rows;
  }

  async count(): Promise<number> {
    if (this.plan.op === 'read') {
      const tasks = await this.plan.plan(this.plan.parallelism ?? 200);
      if (tasks.every((t) => t.numRows !== undefined)) return tasks.reduce((s, t) => s + t.numRows!, 0);
    }
    let rows = 0;
    for await (const b of this.blocks()) {
      rows += b.meta.numRows;
      dropBlock(b);
    }
    return rows;
  }

  async schema(): Promise<Schema | undefined> {
    for await (const table of tablesOf(this.blocks(), 0))
      if (table.schema.fields.length > 0) return withoutSource(table).schema;
    return undefined;
  }

  async show(n = 20): Promise<void> {
    for (const row of await this.take(n))
      console.log(JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)));
  }

  iterBatches(options: IterBatchesOptions = {}): AsyncGenerator<Batch> {
    const o = checkIterOptions(options, 'iterBatches');
    return batchesOf(iterTables(this.blocks(), o), o);
  }

  iterRows(): AsyncGenerator<T> {
    return rowsOf(tablesOf(this.blocks(), 1)) as AsyncGenerator<T>;
  }

  /** Runs the plan and keeps every block in the store: later consumption reads them. */
  async materialize(): Promise<Dataset<T>> {
    return fromBlocks<T>(await this.materializedBlocks(), 'Materialized', this.lastStats);
  }

  async writeParquet(dir: string, options: { prefix?: string } = {}): Promise<string[]> {
    return this.writeFiles('writeParquetBlock', dir, options.prefix);
  }

  async writeCsv(dir: string, options: { prefix?: string } = {}): Promise<string[]> {
    return this.writeFiles('writeCsvBlock', dir, options.prefix);
  }

  async writeJson(dir: string, options: { prefix?: string } = {}): Promise<string[]> {
    return this.writeFiles('writeJsonBlock', dir, options.prefix);
  }

  /** Writes every block through a Datasink (one write task per block, as blocks are made). */
  async write(sink: Datasink): Promise<unknown[]> {
    const write = sink.write instanceof tray.RemoteFunction ? sink.write : tray.remote(sink.write as UserFn);
    await sink.onWriteStart?.();
    const results = await this.writeWith(write.options({ name: sink.name }), sink.options);
    await sink.onWriteComplete?.(results);
    return results;
  }

  /** Time and rows per operator of the last run started from this Dataset object. */
  stats(): string {
    return (this.lastStats ?? new Stats()).toString();
  }

  toString(): string {
    return `Dataset(${describePlan(this.plan)})`;
  }

  // ---- internals ----

  /** @internal The plan's blocks as they are made (runs the executor). */
  blocks(): AsyncGenerator<BlockRef> {
    const self = this;
    return (async function* () {
      const exec = await Execution.start();
      self.lastStats = exec.stats;
      try {
        yield* execute(self.plan, exec, true);
      } finally {
        exec.progress?.stop();
        collectSoon();
      }
    })();
  }

  /** @internal */
  async materializedBlocks(): Promise<BlockRef[]> {
    if (this.plan.op === 'blocks') return this.plan.blocks();
    const out: BlockRef[] = [];
    for await (const b of this.blocks()) {
      b.release?.();
      out.push({ block: b.block, meta: b.meta });
    }
    return out;
  }

  private async writeFiles(
    task: 'writeParquetBlock' | 'writeCsvBlock' | 'writeJsonBlock',
    dir: string,
    prefix?: string,
  ): Promise<string[]> {
    if (typeof dir !== 'string' || dir === '')
      throw new TypeError(`${task.replace('Block', '')}: dir must be a directory path`);
    const path = await import('node:path');
    return (await this.writeWith(remoteTask(task), {
      dir: path.resolve(dir),
      prefix: prefix ?? randomPrefix(),
    })) as string[];
  }

  /**
   * Writes through a write stage fused into the tasks that make the blocks (no extra pass over
   * the store), one call per block; returns each call's result in block order.
   */
  private async writeWith(write: tray.RemoteFunction, options: unknown): Promise<unknown[]> {
    const stage: Stage = { kind: 'write', name: 'Write', fn: write, sinkOptions: options };
    const written = new Dataset({ op: 'stage', input: this.plan, stage, compute: this.lastCompute() });
    const results = (await written.takeAll()).map((r) => JSON.parse(r.result as string));
    this.lastStats = written.lastStats;
    return results;
  }

  /** The resources of the last task stage, so a write fuses into it. */
  private lastCompute(): Compute {
    return this.plan.op === 'stage' ? this.plan.compute : {};
  }

  private stage<U extends Row>(
    kind: StageKind,
    label: string,
    fn: UserFn,
    options: MapOptions,
    extra: Partial<Stage> = {},
    named = false,
  ): Dataset<U> {
    if (typeof fn !== 'function')
      throw new TypeError(`${label}: expected a function, got ${fn === null ? 'null' : typeof fn}`);
    checkOptions(options, label);
    const remote = tray.remote(fn, { captures: options.captures });
    const name = named ? label : `${label}(${fn.name || 'fn'})`;
    const stage: Stage = { kind, name, fn: remote, fnArgs: options.fnArgs, ...extra };
    return new Dataset({ op: 'stage', input: this.plan, stage, compute: computeOf(options) });
  }

  private columnStage(kind: StageKind, label: string, columns: string[]): Dataset<Row> {
    if (!Array.isArray(columns) || columns.some((c) => typeof c !== 'string')) {
      throw new TypeError(`${label}: expected an array of column names; got ${JSON.stringify(columns)}`);
    }
    const stage: Stage = { kind, name: `${label}(${columns.join(', ')})`, columns };
    return new Dataset({ op: 'stage', input: this.plan, stage, compute: {} });
  }

  /** @internal */
  allToAll(name: string, run: (input: BlockRef[]) => Promise<BlockRef[]>): Dataset<T> {
    return new Dataset({ op: 'allToAll', input: this.plan, name, run });
  }
}

/** A dataset over blocks already in the store. */
export function fromBlocks<T extends Row = Row>(blocks: BlockRef[], name: string, stats?: Stats): Dataset<T> {
  const ds = new Dataset<T>({ op: 'blocks', name, blocks: async () => blocks });
  if (stats) (ds as unknown as { lastStats: Stats }).lastStats = stats;
  return ds;
}
