// What the experiment prints: on a terminal, a status table redrawn in place (trial, status,
// config, last metrics, best so far); otherwise plain lines, one per status change (and per
// result at verbose 2); a summary at the end. Writes to stderr-like streams only when verbose > 0.
import { flatten } from '../storage/trial-files.js';
import type { TrialRecord } from '../tuner/trial.js';
import type { Mode, TrialResult } from '../types.js';

export interface Output {
  status(trial: TrialRecord): void;
  result(trial: TrialRecord, result: TrialResult): void;
  warn(message: string): void;
  end(trials: readonly TrialRecord[]): void;
}

interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const REDRAW_MS = 500;
const SHOWN_FIELDS = ['training_iteration', 'time_total_s'];

export class Reporter implements Output {
  private trials: readonly TrialRecord[] = [];
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();

  constructor(
    private readonly verbose: 0 | 1 | 2,
    private readonly metric: string | undefined,
    private readonly mode: Mode | undefined,
    private readonly out: Stream = process.stdout,
  ) {}

  private get tty(): boolean {
    return this.out.isTTY === true;
  }

  track(trials: readonly TrialRecord[]): void {
    this.trials = trials;
  }

  status(trial: TrialRecord): void {
    if (this.verbose === 0) return;
    if (this.tty) this.schedule();
    else
      this.line(
        `trial ${trial.id} ${trial.status}${trial.status === 'PENDING' ? ` config ${short(trial.config)}` : ''}${trial.error ? `: ${trial.error.split('\n')[0]}` : ''}`,
      );
  }

  result(trial: TrialRecord, result: TrialResult): void {
    if (this.verbose === 0) return;
    if (this.tty) this.schedule();
    else if (this.verbose === 2)
      this.line(`trial ${trial.id} iter ${result.training_iteration} ${metricsOf(result, this.metric)}`);
  }

  warn(message: string): void {
    if (this.verbose === 0) return;
    this.clear();
    this.out.write(`[tune] ${message}\n`);
    if (this.tty) this.schedule();
  }

  end(trials: readonly TrialRecord[]): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.verbose === 0) return;
    if (this.tty) this.draw();
    const counts = new Map<string, number>();
    for (const t of trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    this.out.write(
      `[tune] ${trials.length} trials in ${secs} s: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}\n`,
    );
    const best = bestTrial(trials, this.metric, this.mode);
    if (best !== undefined) {
      this.out.write(
        `[tune] best trial ${best.id}: ${this.metric}=${fmt(best.lastResult![this.metric!])} config ${short(best.config)}\n`,
      );
    }
    for (const t of trials)
      if (t.status === 'ERROR') this.out.write(`[tune] trial ${t.id} ERROR: ${t.error?.split('\n')[0]}\n`);
    this.drawnLines = 0;
  }

  private line(text: string): void {
    this.out.write(`[tune] ${text}\n`);
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, REDRAW_MS);
    this.timer.unref?.();
  }

  private clear(): void {
    if (!this.tty || this.drawnLines === 0) return;
    this.out.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  /** The table, replacing the previous one. */
  private draw(): void {
    this.clear();
    const rows = this.trials.map((t) => [
      t.id,
      t.status,
      short(t.config),
      t.lastResult === undefined ? '' : metricsOf(t.lastResult, this.metric),
    ]);
    const header = ['trial', 'status', 'config', 'last result'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const width = this.out.columns ?? 120;
    const fmtRow = (r: string[]) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .slice(0, width - 1);
    const lines = [fmtRow(header), ...rows.map(fmtRow)];
    const best = bestTrial(this.trials, this.metric, this.mode);
    if (best !== undefined)
      lines.push(`best so far: ${best.id} ${this.metric}=${fmt(best.lastResult![this.metric!])}`);
    this.out.write(`${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}

function fmt(value: unknown): string {
  if (typeof value === 'number')
    return String(Number.isInteger(value) ? value : Number(value.toPrecision(5)));
  return String(value);
}

function short(config: Record<string, unknown>): string {
  return Object.entries(flatten(config))
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(' ');
}

function metricsOf(result: TrialResult, metric: string | undefined): string {
  const keys = metric === undefined ? SHOWN_FIELDS : [metric, ...SHOWN_FIELDS];
  return keys
    .filter((k) => k in result)
    .map((k) => `${k}=${fmt(result[k])}`)
    .join(' ');
}

function bestTrial(trials: readonly TrialRecord[], metric?: string, mode?: Mode): TrialRecord | undefined {
  if (metric === undefined || mode === undefined) return undefined;
  let best: TrialRecord | undefined;
  for (const t of trials) {
    const v = t.lastResult?.[metric];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const b = best?.lastResult?.[metric] as number | undefined;
    if (b === undefined || (mode === 'min' ? v < b : v > b)) best = t;
  }
  return best;
}
