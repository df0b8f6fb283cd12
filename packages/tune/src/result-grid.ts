// What Tuner.fit() returns: one Result per trial (its last metrics, config, latest checkpoint,
// directory, error and every result it reported) and the ways to pick the best one.
import { Checkpoint } from './checkpoint.js';
import { flatten } from './storage/trial-files.js';
import { checkMode } from './tuner/config.js';
import type { Mode, TrialConfig } from './types.js';

export interface Result {
  /** The last reported result (auto-filled fields included); undefined if none arrived. */
  metrics: Record<string, unknown> | undefined;
  config: TrialConfig;
  /** The trial's latest kept checkpoint. */
  checkpoint: Checkpoint | undefined;
  /** The trial's directory. */
  path: string;
  /** Set when the trial ended in ERROR. */
  error: Error | undefined;
  /** Every result the trial reported, in order. */
  metricsHistory: Record<string, unknown>[];
  trialId: string;
  status: string;
}

/** Which of a trial's results count for getBestResult (Ray's scope). */
export type Scope = 'last' | 'avg' | 'last-5-avg' | 'last-10-avg' | 'all';

const SCOPES: readonly Scope[] = ['last', 'avg', 'last-5-avg', 'last-10-avg', 'all'];

export class ResultGrid implements Iterable<Result> {
  readonly #results: Result[];

  constructor(
    results: Result[],
    private readonly defaultMetric?: string,
    private readonly defaultMode?: Mode,
    /** The experiment's directory. */
    readonly experimentPath = '',
  ) {
    this.#results = results;
  }

  get length(): number {
    return this.#results.length;
  }

  get(index: number): Result | undefined {
    return this.#results[index];
  }

  [Symbol.iterator](): Iterator<Result> {
    return this.#results[Symbol.iterator]();
  }

  /** The errors of the trials that ended in ERROR. */
  get errors(): Error[] {
    return this.#results.flatMap((r) => (r.error === undefined ? [] : [r.error]));
  }

  get numErrors(): number {
    return this.errors.length;
  }

  get numTerminated(): number {
    return this.#results.filter((r) => r.status === 'TERMINATED').length;
  }

  /**
   * The result whose metric is best (default: the Tuner's metric and mode), over each trial's
   * last result (scope 'last'), its average, the average of its last 5 or 10, or its best ever
   * ('all'). Trials without the metric, or with NaN/infinite values, are skipped.
   */
  getBestResult(metric?: string, mode?: Mode, scope: Scope = 'last'): Result {
    const m = metric ?? this.defaultMetric;
    const o = checkMode(mode, 'getBestResult') ?? this.defaultMode;
    if (m === undefined || o === undefined) {
      throw new TypeError(
        'getBestResult(): no metric/mode: pass them (getBestResult("loss", "min")) or set tuneConfig.metric and mode.',
      );
    }
    if (!SCOPES.includes(scope)) {
      throw new TypeError(
        `getBestResult(): scope must be one of ${SCOPES.join(', ')}, got ${JSON.stringify(scope)}.`,
      );
    }
    let best: Result | undefined;
    let bestValue = 0;
    for (const result of this.#results) {
      const value = scoreOf(result, m, o, scope);
      if (value === undefined) continue;
      if (best === undefined || (o === 'min' ? value < bestValue : value > bestValue)) {
        best = result;
        bestValue = value;
      }
    }
    if (best === undefined) {
      const seen = new Set(this.#results.flatMap((r) => Object.keys(r.metrics ?? {})));
      throw new Error(
        `getBestResult(): no trial reported a finite ${JSON.stringify(m)}` +
          (seen.size > 0
            ? `; the results have ${[...seen].join(', ')}.`
            : ' (no trial reported any result).'),
      );
    }
    return best;
  }

  /** One flat row per trial: its last metrics and its config under `config/` (Ray's get_dataframe). */
  toRows(): Record<string, unknown>[] {
    return this.#results.map((r) => ({
      ...flatten(r.metrics ?? {}),
      ...flatten(r.config, 'config'),
      trial_id: r.trialId,
      status: r.status,
      logdir: r.path,
      ...(r.error === undefined ? {} : { error: r.error.message }),
    }));
  }
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function metricOf(result: Record<string, unknown>, metric: string): number | undefined {
  if (metric in result) return finite(result[metric]);
  return finite(flatten(result)[metric]);
}

function scoreOf(result: Result, metric: string, mode: Mode, scope: Scope): number | undefined {
  if (scope === 'last') return result.metrics === undefined ? undefined : metricOf(result.metrics, metric);
  const values = result.metricsHistory.map((r) => metricOf(r, metric)).filter((v) => v !== undefined);
  if (values.length === 0) return undefined;
  if (scope === 'all') return mode === 'min' ? Math.min(...values) : Math.max(...values);
  const n = scope === 'avg' ? values.length : scope === 'last-5-avg' ? 5 : 10;
  const tail = values.slice(-n);
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}

export function checkpointOf(dir: string | undefined): Checkpoint | undefined {
  return dir === undefined ? undefined : new Checkpoint(dir);
}
