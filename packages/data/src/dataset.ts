// Dataset: a lazy, distributed table of rows. Transform methods return a new Dataset with one
// more plan node and run nothing; consuming methods (take, count, iterBatches, write*, ...)
// run the plan through the streaming executor. Names and defaults follow Ray Data.
import * as tray from '@tray/core';
import type { Schema } from 'apache-arrow';
import type { Batch, BatchFormat, Row } from './block.js';
import { BATCH_FORMATS } from './block.js';
import { Execution } from './exec/execution.js';
import { execute } from './exec/executor.js';
import type { BlockRef, Compute, PlanNode } from './exec/plan.js';
import { describePlan } from './exec/plan.js';
import { remoteTask } from './exec/remote.js';
import { Stats } from './exec/stats.js';
import { GroupedData } from './grouped.js';
import {
  batchesOf,
  checkIterOptions,
  DataIterator,
  type IterBatchesOptions,
  rowsOf,
  tablesOf,
} from './iterate.js';
import { boundaries, evenSizes, mapReduce, reblock } from './shuffle/plan.js';
import type { Datasink } from './sinks/datasink.js';
import type { ActorStage, Stage, StageKind } from './stages.js';

export interface MapOptions extends Compute {
  /** Values the function's source refers to (as tray.remote's captures). */
  captures?: Record<string, unknown>;
  /** Extra arguments passed after the row or batch. */
  fnArgs?: unknown[];
}

export interface MapBatchesOptions extends MapOptions {
  /** Rows per call; null (default) gives whole blocks. */
  batchSize?: number | null;
  /** 'columns' (default: Record<string, TypedArray | unknown[]>), 'rows' or 'arrow'. */
  batchFormat?: BatchFormat;
  /** A class: the arguments of its constructor, once per actor. */
  fnConstructorArgs?: unknown[];
}

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
    return this.allToAll('Zip', async (left) => {
      const right = await other.materializedBlocks();
      const total = totalRows(left);
      if (totalRows(right) !== total) {
        throw new Error(
          `zip: the datasets have ${total} and ${totalRows(right)} rows; zip needs equal row counts`,
        );
      }
      const aligned = await reblock(
        right,
        left.map((b) => b.meta.numRows),
      );
      const task = remoteTask('zipBlocks').options({ numReturns: 2, name: 'Zip' });
      const pairs = left.map(
        (b, i) =>
          task.remote(b.block, aligned[i]!.block) as unknown as [
            tray.ObjectRef<Uint8Array>,
            tray.ObjectRef<BlockRef['meta']>,
          ],
      );
      const metas = await tray.get(pairs.map((p) => p[1]));
      return pairs.map((p, i) => ({ block: p[0], meta: metas[i]! }));
    }) as Dataset<Row>;
  }

  // ---- splitting ----

  /** n materialized datasets of near-equal rows (exactly equal, dropping the rest, with equal). */
  async split(n: number, options: { equal?: boolean } = {}): Promise<Dataset<T>[]> {
    positiveInt(n, 'split: n');
    const blocks = await this.materializedBlocks();
    const total = totalRows(blocks);
    const sizes = options.equal ? new Array(n).fill(Math.floor(total / n)) : evenSizes(total, n);
    const parts = await reblock(blocks, sizes);
    return parts.map((b, i) => fromBlocks<T>([b], `Split(${i})`));
  }

  /**
   * n iterators that share one streaming execution: each block goes to whichever iterator asks
   * next. With equal, the dataset is materialized first and each gets exactly total/n rows.
   */
  streamingSplit(n: number, options: { equal?: boolean } = {}): DataIterator[] {
    positiveInt(n, 'streamingSplit: n');
    if (options.equal) {
      const parts = this.split(n, { equal: true });
      return Array.from(
        { length: n },
        (_, i) =>
          new DataIterator(() =>
            (async function* () {
              yield* await (await parts)[i]!.materializedBlocks();
            })(),
          ),
      );
    }
    let shared: AsyncGenerator<BlockRef> | undefined;
    let chain: Promise<unknown> = Promise.resolve();
    const next = () => {
      const result = chain.then(async () => {
        shared ??= this.blocks();
        return shared.next();
      });
      chain = result.catch(() => undefined);
      return result;
    };
    return Array.from(
      { length: n },
      () =>
        new DataIterator(() =>
          (async function* () {
            for (;;) {
              const r = await next();
              if (r.done) return;
              yield r.value;
            }
          })(),
        ),
    );
  }

  /** [train, test]: the last floor(count × testSize) rows (after an optional shuffle) are the test set. */
  async trainTestSplit(
    testSize: number,
    options: { shuffle?: boolean; seed?: number } = {},
  ): Promise<[Dataset<T>, Dataset<T>]> {
    if (!(typeof testSize === 'number' && testSize > 0 && testSize < 1)) {
      throw new TypeError(`trainTestSplit: testSize must be a fraction between 0 and 1; got ${testSize}`);
    }
    const source = options.shuffle ? this.randomShuffle({ seed: options.seed }) : this;
    const blocks = await source.materializedBlocks();
    const total = totalRows(blocks);
    const test = Math.floor(total * testSize);
    const [train, testBlock] = await reblock(blocks, [total - test, test]);
    return [fromBlocks<T>([train!], 'TrainSplit'), fromBlocks<T>([testBlock!], 'TestSplit')];
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
      b.release?.();
    }
    return rows;
  }

  async schema(): Promise<Schema | undefined> {
    for await (const table of tablesOf(this.blocks(), 0))
      if (table.schema.fields.length > 0) return table.schema;
    return undefined;
  }

  async show(n = 20): Promise<void> {
    for (const row of await this.take(n))
      console.log(JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)));
  }

  iterBatches(options: IterBatchesOptions = {}): AsyncGenerator<Batch> {
    const o = checkIterOptions(options, 'iterBatches');
    return batchesOf(tablesOf(this.blocks(), o.prefetchBatches ?? 1), o);
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
        yield* execute(self.plan, exec);
      } finally {
        exec.progress?.stop();
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

function computeOf(o: MapOptions): Compute {
  return { numCpus: o.numCpus, resources: o.resources, concurrency: o.concurrency };
}

const OPTION_KEYS = new Set([
  'numCpus',
  'resources',
  'concurrency',
  'captures',
  'fnArgs',
  'batchSize',
  'batchFormat',
  'fnConstructorArgs',
]);

function checkOptions(o: MapOptions, where: string): void {
  if (o === null || typeof o !== 'object') throw new TypeError(`${where}: options must be an object`);
  for (const k of Object.keys(o)) {
    if (!OPTION_KEYS.has(k))
      throw new TypeError(`${where}: unknown option "${k}"; the options are ${[...OPTION_KEYS].join(', ')}`);
  }
  if (o.numCpus !== undefined && !(typeof o.numCpus === 'number' && o.numCpus >= 0)) {
    throw new TypeError(`${where}: numCpus must be a non-negative number; got ${o.numCpus}`);
  }
  const c = o.concurrency;
  if (
    c !== undefined &&
    !(Number.isInteger(c) && (c as number) > 0) &&
    !(Array.isArray(c) && c.length === 2 && c[0] >= 1 && c[1] >= c[0])
  ) {
    throw new TypeError(
      `${where}: concurrency must be a positive integer or [min, max] with 1 <= min <= max; got ${JSON.stringify(c)}`,
    );
  }
}

function keyList(key: string | string[], where: string): string[] {
  const keys = typeof key === 'string' ? [key] : key;
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string' || k === '')) {
    throw new TypeError(
      `${where}: key must be a column name or a non-empty array of them; got ${JSON.stringify(key)}`,
    );
  }
  return keys;
}

function positiveInt(n: number, what: string): void {
  if (!(Number.isInteger(n) && n > 0)) throw new TypeError(`${what} must be a positive integer; got ${n}`);
}

export function totalRows(blocks: BlockRef[]): number {
  return blocks.reduce((s, b) => s + b.meta.numRows, 0);
}

function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

function randomPrefix(): string {
  return Math.random().toString(16).slice(2, 10).padEnd(8, '0');
}
