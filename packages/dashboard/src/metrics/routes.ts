// `GET /metrics` on the head's dashboard: the cluster-wide Prometheus series (cluster-metrics.ts),
// behind the cluster token like every route. Prometheus scrapes it with
// `authorization: credentials_file: <session>/token`.
import type { RouteGroup } from '../server/context.js';
import { sendText } from '../server/http-io.js';
import { ClusterMetrics } from './cluster-metrics.js';

export const metricsRoutes: RouteGroup = (router, ctx) => {
  const metrics = new ClusterMetrics(ctx);
  router.get('/metrics', async (_req, res) => {
    const text = await metrics.text();
    const type = metrics.contentType.replace(/;\s*charset=[^;]*/i, '');
    sendText(res, 200, text, type);
  });
};
