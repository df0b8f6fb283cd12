// Splitting a dataset among consumers: split (n materialized parts), streamingSplit (n
// iterators over one streaming execution, e.g. one per training worker) and trainTestSplit.
import type { Row } from './block.js';
import { type Dataset, fromBlocks } from './dataset.js';
import type { BlockRef } from './exec/plan.js';
import { DataIterator } from './iterate.js';
import { positiveInt, totalRows } from './options.js';
import { evenSizes, reblock } from './shuffle/plan.js';

/** n materialized datasets of near-equal rows (exactly equal, dropping the rest, with equal). */
export async function split<T extends Row>(
  ds: Dataset<T>,
  n: number,
  options: { equal?: boolean },
): Promise<Dataset<T>[]> {
  positiveInt(n, 'split: n');
  const blocks = await ds.materializedBlocks();
  const total = totalRows(blocks);
  const sizes = options.equal ? new Array(n).fill(Math.floor(total / n)) : evenSizes(total, n);
  const parts = await reblock(blocks, sizes);
  return parts.map((b, i) => fromBlocks<T>([b], `Split(${i})`));
}

/**
 * n iterators that share one streaming execution: each block goes to whichever iterator asks
 * next. With equal, the dataset is materialized first and each gets exactly total/n rows.
 */
export function streamingSplit<T extends Row>(
  ds: Dataset<T>,
  n: number,
  options: { equal?: boolean },
): DataIterator[] {
  positiveInt(n, 'streamingSplit: n');
  if (options.equal) {
    const parts = split(ds, n, { equal: true });
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
      shared ??= ds.blocks();
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
export async function trainTestSplit<T extends Row>(
  ds: Dataset<T>,
  testSize: number,
  options: { shuffle?: boolean; seed?: number },
): Promise<[Dataset<T>, Dataset<T>]> {
  if (!(typeof testSize === 'number' && testSize > 0 && testSize < 1)) {
    throw new TypeError(`trainTestSplit: testSize must be a fraction between 0 and 1; got ${testSize}`);
  }
  const source = options.shuffle ? ds.randomShuffle({ seed: options.seed }) : ds;
  const blocks = await source.materializedBlocks();
  const total = totalRows(blocks);
  const test = Math.floor(total * testSize);
  const [train, testBlock] = await reblock(blocks, [total - test, test]);
  return [fromBlocks<T>([train!], 'TrainSplit'), fromBlocks<T>([testBlock!], 'TestSplit')];
}
