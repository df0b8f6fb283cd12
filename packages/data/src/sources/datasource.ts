// The Datasource contract: how a dataset's rows come into being. A datasource runs in the
// driver to plan (list files, read footers) and splits its data into read tasks; each read task
// then runs in a worker and returns its piece as a batch. The built-in sources (one file each in
// this folder) implement the same interface as a user's own.
import type { RemoteFunction } from '@tray/core';

/** One piece of a source, read by one task. */
export interface ReadTask {
  /**
   * The function a worker runs to read the piece: given `args`, it returns an apache-arrow Table,
   * an object of columns, an array of rows, or an (async) iterable of those. It is shipped like
   * tray.remote code (no free variables; pass what it needs in `args`), or give a RemoteFunction.
   */
  read: ((args: any) => unknown) | RemoteFunction;
  /** Structured-cloneable arguments for `read`. */
  args: unknown;
  /** What the piece is, for stats and error messages (a path, a row range). */
  source: string;
  /** Rows the piece holds, when known before reading (count() uses it without reading). */
  numRows?: number;
}

export interface Datasource {
  /** Shown in stats and progress, e.g. "ReadParquet". */
  readonly name: string;
  /** Splits the data into about `parallelism` read tasks. Runs in the driver. */
  getReadTasks(parallelism: number): ReadTask[] | Promise<ReadTask[]>;
}

/** Built-in read tasks name a function of the worker module instead of shipping one. */
export interface BuiltinReadTask extends Omit<ReadTask, 'read'> {
  builtin: string;
}

export type AnyReadTask = ReadTask | BuiltinReadTask;
