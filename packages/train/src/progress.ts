// A line per reported iteration on the driver's terminal: the iteration, rank 0's metrics and
// the reporting rate. Plain text when stdout is not a TTY (logs, CI); the label bold on one.
import type { Metrics } from './storage.js';

const AUTO = new Set(['training_iteration', 'timestamp', 'time_total_s']);

/** A metric as shown: numbers to 5 digits, short strings and booleans; others (arrays, objects) not shown. */
function format(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(5);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return value.length <= 40 ? value : `${value.slice(0, 37)}...`;
  return undefined;
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
      .filter(([k, v]) => !AUTO.has(k) && format(v) !== undefined)
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

  /** A failed attempt and its restart: on stderr, also when not verbose (as Ray logs it). */
  failure(text: string): void {
    process.stderr.write(`[train ${this.name}] ${text}\n`);
  }
}
