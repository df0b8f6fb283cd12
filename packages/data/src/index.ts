// @tray/data: Ray Data for tray. `import * as data from '@tray/data'` gives these names
// (LIBRARIES.md's Data section).
export type { Batch, BatchFormat, BlockMeta, Columns, Row } from './block.js';
export { DataContext } from './context.js';
export { Dataset, type MapBatchesOptions, type MapOptions } from './dataset.js';
export { type Aggregation, GroupedData } from './grouped.js';
export { DataIterator, type IterBatchesOptions } from './iterate.js';
export {
  fromArrow,
  fromItems,
  type ReadOptions,
  range,
  readBinaryFiles,
  readCsv,
  readDatasource,
  readJson,
  readParquet,
  readText,
} from './read.js';
export { AggregateFn, type AggregateFnOptions } from './shuffle/aggregate-fn.js';
export type { Datasink, WriteContext } from './sinks/datasink.js';
export type { ReadCsvOptions } from './sources/csv.js';
export type { Datasource, ReadTask } from './sources/datasource.js';
export type { ReadParquetOptions } from './sources/parquet.js';
export { feedSplitCoordinator, type SplitCoordinatorFeed } from './splits.js';
export { UserCodeError } from './stages.js';
