// The head's cluster-wide Prometheus series, served at the dashboard's `GET /metrics`: what the
// GCS exports (its tables by state and RPC latencies, read with the cluster token from its own
// endpoint, whose address the GCS keeps in the KV as metrics/gcs) followed by the dashboard's
// own series over the whole cluster — resources summed over the alive nodes (`ray_cluster_resources{Name,State}`) and
// the nodes that serve metrics. Per-node series stay on each raylet: Prometheus scrapes those
// through the service-discovery file, so nothing here is scraped twice.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { processTls, tray } from '@tray/protocol';
import { Gauge, Registry } from 'prom-client';
import type { DashboardContext } from '../server/context.js';
import { HttpError } from '../server/http-error.js';

/** GCS KV namespace and key where the GCS keeps its metrics `host:port`. */
export const GCS_METRICS_KV = { namespace: 'metrics', key: 'gcs' } as const;
const FETCH_TIMEOUT_MS = 5_000;

/** GET `url` with the token; the body, or an error saying what answered. */
function fetchText(url: string, token: string): Promise<string> {
  const tls = processTls();
  const send = tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        headers: { authorization: `Bearer ${token}` },
        timeout: FETCH_TIMEOUT_MS,
        ...(tls ? { cert: tls.cert, key: tls.key, ca: tls.ca } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(body)
            : reject(new Error(`${url} answered ${res.statusCode}: ${body.trim()}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${FETCH_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export class ClusterMetrics {
  private readonly registry = new Registry();

  constructor(private readonly ctx: DashboardContext) {
    this.registry.setDefaultLabels({ Component: 'dashboard', SessionName: path.basename(ctx.sessionDir) });
    const registers = [this.registry];
    const gcs = ctx.gcs;
    new Gauge({
      name: 'ray_cluster_resources',
      help: 'Logical resources of the alive nodes, summed, by State (USED, AVAILABLE)',
      labelNames: ['Name', 'State'],
      registers,
      async collect() {
        const usage = await gcs.getAllResourceUsage();
        this.reset();
        for (const node of usage) {
          const total = node.total?.quantities ?? {};
          const available = node.available?.quantities ?? {};
          for (const [name, quantity] of Object.entries(total)) {
            const free = available[name] ?? 0;
            this.inc({ Name: name, State: 'AVAILABLE' }, free);
            this.inc({ Name: name, State: 'USED' }, quantity - free);
          }
        }
      },
    });
    new Gauge({
      name: 'ray_cluster_metrics_targets',
      help: 'Alive nodes whose raylet serves metrics (listed in prom_metrics_service_discovery.json)',
      registers,
      async collect() {
        const nodes = await gcs.getAllNodeInfo();
        this.set(
          nodes.filter((n) => n.state === tray.v1.NodeInfo.State.ALIVE && n.metricsExportPort > 0).length,
        );
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The GCS's exposition text and then the dashboard's. */
  async text(): Promise<string> {
    const address = await this.ctx.gcs.kvGet(GCS_METRICS_KV.namespace, GCS_METRICS_KV.key);
    if (address === undefined)
      throw new HttpError(503, 'the GCS serves no metrics (started with metrics off, or TRAY_METRICS=0)');
    const scheme = processTls() ? 'https' : 'http';
    const url = `${scheme}://${Buffer.from(address).toString('utf8')}/metrics`;
    let gcsText: string;
    try {
      gcsText = await fetchText(url, this.ctx.token);
    } catch (err) {
      throw new HttpError(502, `the GCS's metrics could not be read: ${(err as Error).message}`);
    }
    const own = await this.registry.metrics();
    return `${gcsText.trimEnd()}\n${own}`;
  }
}
