// The metric and mode a scheduler ranks trials by, given to its constructor or later by the Tuner
// (setSearchProperties), and the reading of a result: a missing or non-numeric metric or time
// attribute is an error that names it and the keys the result does have, since a typo there would
// otherwise silently disable early stopping.
import type { Mode, TrialResult } from '../types.js';

export function checkMode(who: string, mode: unknown): Mode | undefined {
  if (mode === undefined) return undefined;
  if (mode !== 'min' && mode !== 'max') {
    throw new TypeError(`${who}: mode must be 'min' or 'max', got ${JSON.stringify(mode)}`);
  }
  return mode;
}

function resultKeys(result: TrialResult): string {
  return Object.keys(result)
    .filter((k) => typeof result[k] === 'number')
    .join(', ');
}

/** result[key] as a number, or an error naming the key and the numeric keys the result has. */
export function readNumber(who: string, result: TrialResult, key: string): number {
  const v = result[key];
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw new Error(
      `${who}: the result of trial ${result.trial_id} has ${
        v === undefined ? 'no' : `a non-numeric (${JSON.stringify(v)})`
      } "${key}"; it reports ${resultKeys(result) || 'no numeric keys'}. Report "${key}" with tune.report, or configure one of those`,
    );
  }
  return v;
}

export class MetricTarget {
  metric: string | undefined;
  mode: Mode | undefined;

  constructor(
    private readonly who: string,
    metric: string | undefined,
    mode: Mode | undefined,
  ) {
    if (metric !== undefined && (typeof metric !== 'string' || metric === '')) {
      throw new TypeError(`${who}: metric must be a non-empty string, got ${JSON.stringify(metric)}`);
    }
    this.metric = metric;
    this.mode = checkMode(who, mode);
  }

  /** The Tuner's metric/mode: taken where this has none; false where this already has a different one. */
  set(metric: string | undefined, mode: Mode | undefined): boolean {
    checkMode(this.who, mode);
    if (metric && this.metric && metric !== this.metric) return false;
    if (mode && this.mode && mode !== this.mode) return false;
    if (metric) this.metric = metric;
    if (mode) this.mode = mode;
    return true;
  }

  private require(): { metric: string; mode: Mode } {
    if (!this.metric || !this.mode) {
      throw new Error(
        `${this.who} needs a metric and a mode; give them to it or to tuneConfig ({ metric: 'loss', mode: 'min' })`,
      );
    }
    return { metric: this.metric, mode: this.mode };
  }

  /** The result's metric signed so that higher is better (Ray's metric_op × value). */
  score(result: TrialResult): number {
    const { metric, mode } = this.require();
    const v = readNumber(this.who, result, metric);
    return mode === 'max' ? v : -v;
  }

  /** Throws unless metric and mode are known. */
  check(): void {
    this.require();
  }
}

/** A numeric option as given, or a TypeError naming it (a string '10' would compare as a number and then misbehave). */
export function numberOption(who: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new TypeError(`${who}: ${name} must be a finite number, got ${JSON.stringify(v) ?? String(v)}`);
  }
  return v;
}

export function stringOption(who: string, name: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') {
    throw new TypeError(
      `${who}: ${name} must be a non-empty string (a result key), got ${JSON.stringify(v) ?? String(v)}`,
    );
  }
  return v;
}
