// Starts the GCS in this process: opens its storage, loads the tables, and serves every
// gcs.proto service over gRPC behind the cluster token. `close` stops serving, the health
// checks and the storage, in that order.
import path from 'node:path';
import { createGrpcServer, type MetricsEndpoint, serveMetrics } from '@tray/protocol';
import { scheduleOnRaylets } from './actor-scheduling/wiring.js';
import { GcsManagers } from './gcs-managers.js';
import { addGcsServices } from './grpc-services.js';
import type { ActorScheduler } from './managers/actor-scheduler.js';
import { DEFAULT_HEALTH_CHECK, type HealthCheckOptions } from './managers/node-health-checker.js';
import { DeferredGcsMetrics } from './metrics/deferred-metrics.js';
import { ServiceDiscoveryFile } from './metrics/service-discovery.js';
import { RayletBundleReserver } from './raylet-bundle-reserver.js';
import { RayletProbe } from './raylet-probe.js';
import { MemoryStorage } from './storage/memory-storage.js';
import { RedisStorage } from './storage/redis-storage.js';
import type { GcsStorage } from './storage/storage.js';

export interface GcsServerOptions {
  /** Interface to bind; loopback unless told otherwise. */
  host?: string;
  /** 0 picks a free port (`tray start` uses 6380). */
  port?: number;
  /** The cluster token every call must present. */
  token: string;
  /** Where the tables live: in memory (default) or a Redis that outlives the GCS. */
  storage?: 'memory' | { redisUrl: string; keyPrefix?: string; password?: string };
  healthCheck?: Partial<HealthCheckOptions>;
  /** Bound of the task-event buffer per job (default 10,000). */
  maxTaskEventsPerJob?: number;
  /**
   * Task attempts kept over all jobs (Ray's task_events_max_num_task_in_gcs, default 100,000):
   * past it finished jobs' attempts are dropped, oldest job first; `tray start` takes
   * TRAY_TASK_EVENTS_MAX_NUM_TASK_IN_GCS.
   */
  maxTaskEvents?: number;
  /**
   * Dead workers the worker table keeps, newest (Ray's maximum_gcs_dead_worker_cached_count,
   * default 100,000); `tray start` takes TRAY_MAXIMUM_GCS_DEAD_WORKER_CACHED_COUNT.
   */
  maxDeadWorkers?: number;
  /**
   * Creates and kills actors' workers. Default: leases from the cluster's raylets
   * (actor-scheduling/); `actorScheduling: 'none'` leaves it out (CreateActor: UNIMPLEMENTED).
   */
  actorScheduler?: ActorScheduler;
  actorScheduling?: 'raylets' | 'none';
  /**
   * Where placement-group bundles are reserved: on the raylets (Prepare/Commit/Cancel over
   * gRPC; the default) or nowhere (`'none'`: a group is CREATED as soon as it is placed, for a
   * GCS run without raylets). Defaults to `'none'` when `actorScheduling` is `'none'`.
   */
  bundleReservation?: 'raylets' | 'none';
  /** Where the GCS reports background problems (default: stderr with a `[gcs]` prefix). */
  log?: (message: string) => void;
  /**
   * Port on `host` of the GCS's Prometheus endpoint (`GET /metrics`, the cluster token as
   * `Authorization: Bearer`); default 0: any free port. Its `host:port` is in the internal KV
   * (namespace `metrics`, key `gcs`) and in the service-discovery file.
   */
  metricsExportPort?: number;
  /** Serve the metrics endpoint (default true; env TRAY_METRICS=0 or off turns it off). */
  metrics?: boolean;
  /**
   * prom-client loads at the first scrape or this many ms after the start, whichever comes first
   * (default 1000: off the start's path; metrics/deferred-metrics.ts).
   */
  metricsLoadAfterMs?: number;
  /**
   * The head's session directory: the GCS keeps `prom_metrics_service_discovery.json` there
   * (every node's metrics endpoint, for Prometheus' file_sd_configs) and labels its series with
   * its name (SessionName).
   */
  sessionDir?: string;
}

export interface GcsServer {
  /** `host:port` as clients should dial it. */
  readonly address: string;
  readonly port: number;
  /** `host:port` of the Prometheus endpoint (undefined: metrics are off). */
  readonly metricsAddress: string | undefined;
  /** Installs (or replaces) what creates actors. */
  setActorScheduler(scheduler: ActorScheduler | undefined): void;
  close(): Promise<void>;
}

function checkOptions(options: GcsServerOptions): void {
  if (!options || typeof options !== 'object') throw new TypeError('startGcsServer needs an options object');
  if (typeof options.token !== 'string' || options.token.length === 0) {
    throw new TypeError('options.token must be the cluster token (a non-empty string)');
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`options.port must be an integer 0..65535, got ${options.port}`);
  }
  const storage = options.storage ?? 'memory';
  if (storage !== 'memory' && (typeof storage !== 'object' || typeof storage.redisUrl !== 'string')) {
    throw new TypeError("options.storage must be 'memory' or { redisUrl: 'redis://host:port' }");
  }
  const after = options.metricsLoadAfterMs;
  if (after !== undefined && (typeof after !== 'number' || !(after >= 0) || after > 2 ** 31 - 1)) {
    throw new RangeError(`options.metricsLoadAfterMs must be a number of ms from 0 to 2^31-1, got ${after}`);
  }
}

/** `metrics`, else TRAY_METRICS (0/off/false: off), else on. */
function metricsOn(metrics: boolean | undefined): boolean {
  if (metrics !== undefined) return metrics;
  return !['0', 'off', 'false'].includes((process.env.TRAY_METRICS ?? '').trim().toLowerCase());
}

async function openStorage(storage: GcsServerOptions['storage']): Promise<GcsStorage> {
  if (storage === undefined || storage === 'memory') return new MemoryStorage();
  return RedisStorage.connect(storage);
}

export async function startGcsServer(options: GcsServerOptions): Promise<GcsServer> {
  checkOptions(options);
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? ((message: string) => process.stderr.write(`[gcs] ${message}\n`));
  const healthCheck = { ...DEFAULT_HEALTH_CHECK, ...options.healthCheck };
  const storage = await openStorage(options.storage);
  const probe = new RayletProbe(options.token);
  let managers: GcsManagers | undefined;
  const withMetrics = metricsOn(options.metrics);
  let metrics: DeferredGcsMetrics | undefined;
  let endpoint: MetricsEndpoint | undefined;
  const server = createGrpcServer({
    token: options.token,
    onCallFinished: withMetrics ? (method, ms, ok) => metrics?.callFinished(method, ms, ok) : undefined,
  });
  try {
    managers = new GcsManagers(storage, {
      healthCheck,
      probe: probe.probe,
      maxTaskEventsPerJob: options.maxTaskEventsPerJob,
      maxTaskEvents: options.maxTaskEvents,
      maxDeadWorkers: options.maxDeadWorkers,
      log,
    });
    const rayletScheduler =
      options.actorScheduler === undefined && options.actorScheduling !== 'none'
        ? scheduleOnRaylets(managers, options.token, log)
        : undefined;
    managers.actors.setScheduler(options.actorScheduler ?? rayletScheduler);
    const reserveOnRaylets =
      (options.bundleReservation ?? options.actorScheduling ?? 'raylets') === 'raylets';
    const bundleReserver = reserveOnRaylets ? new RayletBundleReserver(options.token) : undefined;
    managers.placementGroups.setReserver(bundleReserver);
    await managers.load();
    // A restarted GCS goes on with what its predecessor left half done.
    managers.actors.resume();
    addGcsServices(server, managers);
    const port = await server.listen(host, options.port ?? 0);
    const m = managers;
    let metricsAddress: string | undefined;
    if (withMetrics) {
      const sessionName = options.sessionDir ? path.basename(options.sessionDir) : undefined;
      // prom-client is loaded by a GCS that serves metrics, and after its start (deferred-metrics.ts),
      // not by every process that imports @tray/gcs: drivers and workers import it for GcsClient alone.
      const deferred = (metrics = new DeferredGcsMetrics(m, sessionName, options.metricsLoadAfterMs));
      endpoint = await serveMetrics({
        host,
        port: options.metricsExportPort ?? 0,
        token: options.token,
        collect: async () => {
          const { registry } = await deferred.load();
          return { contentType: registry.contentType, body: await registry.metrics() };
        },
      });
      metricsAddress = `${host.includes(':') ? `[${host}]` : host}:${endpoint.port}`;
      await m.kv.put({
        namespace: 'metrics',
        key: Buffer.from('gcs'),
        value: Buffer.from(metricsAddress),
        overwrite: true,
      });
    }
    if (options.sessionDir) new ServiceDiscoveryFile(options.sessionDir, m.nodes, metricsAddress, log);
    const metricsEndpoint = endpoint;
    let closing: Promise<void> | undefined;
    return {
      address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
      port,
      metricsAddress,
      setActorScheduler: (scheduler) => m.actors.setScheduler(scheduler),
      close: () =>
        (closing ??= (async () => {
          m.close();
          rayletScheduler?.close();
          bundleReserver?.close();
          await server.close();
          await metricsEndpoint?.close();
          metrics?.close();
          probe.close();
          await storage.close();
        })()),
    };
  } catch (err) {
    managers?.close();
    metrics?.close();
    probe.close();
    await server.close().catch(() => {});
    await endpoint?.close().catch(() => {});
    await storage.close().catch(() => {});
    throw err;
  }
}
