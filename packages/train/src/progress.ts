// A line per reported iteration on the driver's terminal: the iteration, rank 0's metrics and
// the reporting rate. Plain text when stdout is not a TTY (logs, CI); the label bold on one.
import type { Metrics } from './storage.js';

const AUTO = new Set(['training_iteration', 'timestamp', 'time_total_s']);

function format(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(5);
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

export class Progress {
  private last: number;

  constructor(
    private readonly name: string,
    private readonly enabled: boolean,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.last = Date.now();
  }

  /** The line for one iteration (also what is printed). */
  line(metrics: Metrics, now = Date.now()): string {
    const seconds = Math.max(1e-3, (now - this.last) / 1000);
    this.last = now;
    const shown = Object.entries(metrics)
      .filter(([k]) => !AUTO.has(k))
      .map(([k, v]) => `${k}=${format(v)}`)
      .join(' ');
    const label = `[train ${this.name}] iteration ${metrics.training_iteration}`;
    const rate = `(${seconds.toFixed(2)} s, ${(1 / seconds).toFixed(2)} it/s, total ${format(metrics.time_total_s)} s)`;
    const head = this.out.isTTY ? `\x1b[1m${label}\x1b[0m` : label;
    return `${head}: ${shown} ${rate}`;
  }

  iteration(metrics: Metrics): void {
    const text = this.line(metrics);
    if (this.enabled) this.out.write(`${text}\n`);
  }

  message(text: string): void {
    if (this.enabled) this.out.write(`[train ${this.name}] ${text}\n`);
  }
}
