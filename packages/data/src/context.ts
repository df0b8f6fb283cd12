// DataContext: the process-wide settings of @tray/data, with Ray Data's defaults. Change them
// with DataContext.getCurrent() before running a dataset.
export class DataContext {
  /** Blocks aim to stay under this size (Ray's target max block size, 128 MiB). */
  targetMaxBlockSize = 128 * 1024 * 1024;
  /** Blocks should not be smaller than this when a source picks its block count (1 MiB). */
  targetMinBlockSize = 1024 * 1024;
  /** The executor keeps produced-but-unconsumed blocks under this fraction of the cluster's object store. */
  objectStoreMemoryFraction = 0.5;
  /** Blocks whose task failed that a dataset skips before it fails (Ray's max_errored_blocks; -1: any). */
  maxErroredBlocks = 0;
  /** Default read parallelism floor (Ray reads into at least 200 blocks when the data is big enough). */
  minReadParallelism = 200;
  /**
   * How read and map tasks are placed: 'SPREAD' (Ray Data's default) spreads them over the
   * cluster's nodes; a map task whose input block is over largeArgsThreshold uses 'DEFAULT'
   * (prefer the node that holds the block).
   */
  schedulingStrategy: 'SPREAD' | 'DEFAULT' = 'SPREAD';
  largeArgsThreshold = 50 * 1024 * 1024;
  /**
   * Show progress per operator on stderr: redrawn lines on a terminal, one plain line per
   * finished operator otherwise (Ray's enable_progress_bars, on by default).
   */
  enableProgressBars = true;

  private static current: DataContext | undefined;
  static getCurrent(): DataContext {
    DataContext.current ??= new DataContext();
    return DataContext.current;
  }
}
