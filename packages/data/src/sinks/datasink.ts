// The Datasink contract: where a dataset's blocks go. The driver calls onWriteStart once, a
// worker task calls `write` once per block (the built-in file sinks write one file per block),
// and the driver calls onWriteComplete with every write's result, in block order.
import type { RemoteFunction } from '@tray/core';
import type { Table } from 'apache-arrow';

export interface WriteContext {
  /** The position in the dataset (0-based) of the task that made the block: file names use it. */
  index: number;
  /**
   * The block's position among its task's blocks (0 unless a read of a big file streamed out
   * several): index and part together name the block.
   */
  part: number;
  /** The sink's `options`, as given. */
  options: unknown;
}

export interface Datasink {
  readonly name: string;
  /** Runs in a worker for each block; shipped like tray.remote code (use `options` for values). */
  write: ((block: Table, ctx: WriteContext) => unknown) | RemoteFunction;
  /** Structured-cloneable values `write` needs (handed over as ctx.options). */
  options?: unknown;
  onWriteStart?(): void | Promise<void>;
  onWriteComplete?(results: unknown[]): void | Promise<void>;
}
