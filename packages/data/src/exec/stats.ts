// Execution statistics: per operator, the tasks it ran, the blocks and rows it produced, its
// wall time and the summed task time. Dataset.stats() prints them after a run, as Ray's does.
import type { BlockMeta } from '../block.js';

/** What the executor counts against an operator's reservation (execution.ts's OperatorAccount). */
export interface HeldOutputs {
  /** Bytes of its outputs counted now (made and not let go of downstream). */
  outputBytes: number;
  /** The most counted at once. */
  peakOutputBytes: number;
}

export class OperatorStats {
  /** Its store account, for operators the executor counts outputs of. */
  held: HeldOutputs | undefined;
  blocks = 0;
  rows = 0;
  bytes = 0;
  taskMs = 0;
  readonly started = Date.now();
  ended: number | undefined;

  constructor(
    readonly name: string,
    private readonly onFinish?: (op: OperatorStats) => void,
  ) {}

  record(meta: BlockMeta): void {
    this.blocks++;
    this.rows += meta.numRows;
    this.bytes += meta.sizeBytes;
    this.taskMs += meta.execMs ?? 0;
  }

  finish(): void {
    if (this.ended !== undefined) return;
    this.ended = Date.now();
    this.onFinish?.(this);
  }

  get wallMs(): number {
    return (this.ended ?? Date.now()) - this.started;
  }
}

export class Stats {
  readonly operators: OperatorStats[] = [];
  /** The execution's store budget and the most counted against it at once (execution.ts). */
  budget: { budgetBytes: number; peakBytes: number; countedBytes: () => number } | undefined;
  /** Told of each operator as it starts and finishes (the progress display). */
  onStart?: (op: OperatorStats) => void;
  onFinish?: (op: OperatorStats) => void;

  operator(name: string): OperatorStats {
    const op = new OperatorStats(name, (o) => this.onFinish?.(o));
    this.operators.push(op);
    this.onStart?.(op);
    return op;
  }

  toString(): string {
    if (this.operators.length === 0)
      return 'Dataset not executed yet: stats() describes the last run of a consuming call.';
    const ops = this.operators.map((op, i) => {
      const secs = op.wallMs / 1000;
      const rate = secs > 0 ? ` (${Math.round(op.rows / secs)} rows/s)` : '';
      const held =
        op.held === undefined
          ? ''
          : `\n* Store held for its outputs: at most ${formatBytes(op.held.peakOutputBytes)}` +
            (op.held.outputBytes > 0 ? `, ${formatBytes(op.held.outputBytes)} still held` : '');
      return (
        `Operator ${i + 1} ${op.name}: ${op.blocks} blocks produced in ${secs.toFixed(2)}s${rate}\n` +
        `* Rows output: ${op.rows}\n* Output size: ${formatBytes(op.bytes)}\n* Task time (sum): ${(op.taskMs / 1000).toFixed(2)}s${held}`
      );
    });
    const b = this.budget;
    if (b !== undefined) {
      const counted = b.countedBytes();
      ops.push(
        `Store budget ${formatBytes(b.budgetBytes)}: at most ${formatBytes(b.peakBytes)} of blocks counted against it at once` +
          (counted > 0 ? `, ${formatBytes(counted)} still counted` : ''),
      );
    }
    return ops.join('\n\n');
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
