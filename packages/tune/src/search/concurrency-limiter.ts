// Caps how many of a searcher's trials run at once (Ray Tune's ConcurrencyLimiter): suggest gives
// null while maxConcurrent trials are live. With `batch`, a new round starts only when the whole
// previous round has completed, and the inner searcher hears the round's results together (what a
// model-based searcher wants when it refits per batch); the last, possibly short, round is handed
// over once the inner searcher has FINISHED and every trial of it has ended.
import type { TrialConfig, TrialResult } from '../types.js';
import { FINISHED, type Searcher, type SearchProperties } from './searcher.js';

export interface ConcurrencyLimiterOptions {
  maxConcurrent: number;
  batch?: boolean;
}

interface SavedState {
  kind: 'ConcurrencyLimiter';
  live: string[];
  cached: [string, TrialResult | undefined, boolean][];
  innerFinished: boolean;
  inner: unknown;
}

export class ConcurrencyLimiter implements Searcher {
  readonly maxConcurrent: number;
  readonly batch: boolean;
  private readonly live = new Set<string>();
  private cached = new Map<string, { result?: TrialResult; error: boolean }>();
  private innerFinished = false;

  constructor(
    readonly searcher: Searcher,
    options: ConcurrencyLimiterOptions,
  ) {
    if (searcher === null || typeof searcher !== 'object' || typeof searcher.suggest !== 'function') {
      throw new TypeError('ConcurrencyLimiter: the first argument must be a Searcher (e.g. new TPESearch())');
    }
    const m = options?.maxConcurrent;
    if (!Number.isInteger(m) || m < 1) {
      throw new RangeError(`ConcurrencyLimiter: maxConcurrent must be a positive integer, got ${String(m)}`);
    }
    this.maxConcurrent = m;
    this.batch = options.batch ?? false;
  }

  setSearchProperties(props: SearchProperties): boolean {
    return this.searcher.setSearchProperties(props);
  }

  suggest(trialId: string): TrialConfig | null | typeof FINISHED {
    if (this.live.size >= this.maxConcurrent) return null;
    if (this.innerFinished) return FINISHED;
    const config = this.searcher.suggest(trialId);
    if (config === FINISHED) {
      this.innerFinished = true;
      this.flushIfDone();
      return FINISHED;
    }
    if (config !== null) this.live.add(trialId);
    return config;
  }

  onTrialResult(trialId: string, result: TrialResult): void {
    if (this.live.has(trialId)) this.searcher.onTrialResult?.(trialId, result);
  }

  onTrialComplete(trialId: string, result?: TrialResult, error = false): void {
    if (!this.live.has(trialId)) return;
    if (!this.batch) {
      this.live.delete(trialId);
      this.searcher.onTrialComplete(trialId, result, error);
      return;
    }
    this.cached.set(trialId, { result, error });
    if (this.cached.size === this.maxConcurrent) this.flush();
    else this.flushIfDone();
  }

  /** Trials live now (suggested and not completed, or completed but held for their batch). */
  get liveTrials(): ReadonlySet<string> {
    return this.live;
  }

  private flushIfDone(): void {
    if (this.innerFinished && this.cached.size > 0 && this.cached.size === this.live.size) this.flush();
  }

  private flush(): void {
    const batch = this.cached;
    this.cached = new Map();
    for (const [id, { result, error }] of batch) {
      this.live.delete(id);
      this.searcher.onTrialComplete(id, result, error);
    }
  }

  saveState(): SavedState {
    return {
      kind: 'ConcurrencyLimiter',
      live: [...this.live],
      cached: [...this.cached].map(([id, c]) => [id, c.result, c.error]),
      innerFinished: this.innerFinished,
      inner: this.searcher.saveState?.(),
    };
  }

  restoreState(state: unknown): void {
    const s = state as Partial<SavedState> | null;
    if (s?.kind !== 'ConcurrencyLimiter' || !Array.isArray(s.live) || !Array.isArray(s.cached)) {
      throw new TypeError('ConcurrencyLimiter.restoreState: not a state this limiter saved');
    }
    this.live.clear();
    for (const id of s.live) this.live.add(id);
    this.cached = new Map(s.cached.map(([id, result, error]) => [id, { result, error }]));
    this.innerFinished = s.innerFinished === true;
    if (s.inner !== undefined) this.searcher.restoreState?.(s.inner);
  }
}
