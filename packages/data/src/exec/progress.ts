// Progress of a running dataset, per operator: rows, blocks and throughput. On a terminal
// (stderr is a TTY) one line per operator is redrawn in place a few times a second; otherwise
// each operator prints one plain line when it finishes. DataContext.enableProgressBars turns it off.
import type { OperatorStats } from './stats.js';

const REDRAW_MS = 250;

export class Progress {
  private readonly operators: OperatorStats[] = [];
  private timer: NodeJS.Timeout | undefined;
  private drawn = 0;
  private readonly tty: boolean;

  constructor(
    private readonly enabled: boolean,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
  }

  add(op: OperatorStats): void {
    if (!this.enabled) return;
    this.operators.push(op);
    if (this.tty && this.timer === undefined) {
      this.timer = setInterval(() => this.draw(), REDRAW_MS);
      this.timer.unref();
    }
  }

  finished(op: OperatorStats): void {
    if (!this.enabled) return;
    if (!this.tty) this.out.write(`${line(op)}\n`);
    else this.draw();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.enabled && this.tty) this.draw();
  }

  private draw(): void {
    // Move up over the lines drawn last time, then rewrite every operator's line.
    let text = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    for (const op of this.operators) text += `\x1b[2K${line(op)}\n`;
    this.drawn = this.operators.length;
    this.out.write(text);
  }
}

function line(op: OperatorStats): string {
  const secs = op.wallMs / 1000;
  const rate = secs > 0 ? Math.round(op.rows / secs) : 0;
  const state = op.ended === undefined ? 'running' : 'done';
  return `${op.name}: ${op.rows} rows, ${op.blocks} blocks, ${secs.toFixed(1)}s, ${rate} rows/s (${state})`;
}
