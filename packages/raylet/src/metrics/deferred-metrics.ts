// The raylet's metrics with prom-client loaded off its start (as @tray/gcs's deferred-metrics.ts):
// a raylet's start is on the path from tray.init() to the first task, and loading prom-client
// (with @opentelemetry/api) took 40-190 ms of it (issue 17). The endpoint serves from the start;
// prom-client loads at the first scrape or LOAD_AFTER_MS after the start, whichever comes first,
// and the lease grants observed before are replayed into it (at most EARLY_LIMIT of them).
import type { Registry } from 'prom-client';
import type { GrantedLease } from '../leases/lease-manager.js';
import type { NodeMetricsSources } from './node-metrics.js';

const LOAD_AFTER_MS = 1000;
const EARLY_LIMIT = 10_000;

export class DeferredNodeMetrics {
  private loading: Promise<Registry> | undefined;
  private early: Array<[waitMs: number, lease: GrantedLease]> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly sources: NodeMetricsSources) {
    // nodeMetrics() replaces this hook with its histogram's.
    sources.leases.onGranted = (waitMs, lease) => {
      if (this.early.length < EARLY_LIMIT) this.early.push([waitMs, lease]);
    };
    this.timer = setTimeout(() => void this.registry().catch(() => {}), LOAD_AFTER_MS);
    this.timer.unref();
  }

  /** The registry, prom-client loaded (once). */
  registry(): Promise<Registry> {
    this.loading ??= import('./node-metrics.js').then(({ nodeMetrics }) => {
      const registry = nodeMetrics(this.sources);
      for (const [waitMs, lease] of this.early) this.sources.leases.onGranted?.(waitMs, lease);
      this.early = [];
      return registry;
    });
    return this.loading;
  }

  close(): void {
    clearTimeout(this.timer);
  }
}
