// The GCS's metrics with prom-client loaded off its start: a GCS's start is on the path from
// tray.init() to the first task, and loading prom-client (with @opentelemetry/api) took 40-190 ms
// of it (issue 17). The endpoint serves from the start; prom-client loads at the first scrape or
// GcsServerOptions.metricsLoadAfterMs (1 s) after the start, whichever comes first, and the RPC
// latencies observed before are replayed into it (at most EARLY_LIMIT: a start makes a few dozen).
import type { GcsManagers } from '../gcs-managers.js';
import type { GcsMetrics } from './gcs-metrics.js';

const LOAD_AFTER_MS = 1000;
const EARLY_LIMIT = 10_000;

export class DeferredGcsMetrics {
  private metrics: GcsMetrics | undefined;
  private loading: Promise<GcsMetrics> | undefined;
  private early: Array<[method: string, ms: number, ok: boolean]> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly managers: GcsManagers,
    private readonly sessionName: string | undefined,
    loadAfterMs = LOAD_AFTER_MS,
  ) {
    this.timer = setTimeout(() => void this.load().catch(() => {}), loadAfterMs);
    this.timer.unref();
  }

  /** For GrpcServerOptions.onCallFinished. */
  callFinished(method: string, ms: number, ok: boolean): void {
    if (this.metrics !== undefined) this.metrics.callFinished(method, ms, ok);
    else if (this.early.length < EARLY_LIMIT) this.early.push([method, ms, ok]);
  }

  /** The metrics, prom-client loaded (once). */
  load(): Promise<GcsMetrics> {
    this.loading ??= import('./gcs-metrics.js').then(({ gcsMetrics }) => {
      const metrics = gcsMetrics(this.managers, this.sessionName);
      for (const [method, ms, ok] of this.early) metrics.callFinished(method, ms, ok);
      this.early = [];
      this.metrics = metrics;
      return metrics;
    });
    return this.loading;
  }

  close(): void {
    clearTimeout(this.timer);
  }
}
