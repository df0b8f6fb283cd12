// `GET /api/serve/applications/` as Ray's dashboard serves it: the serve instance's details
// (controller, proxies, applications with their deployments and replicas), read from the record
// serve's controller writes to the GCS KV; serve not running is Ray's empty answer, not an error.
import type { RouteGroup } from '../server/context.js';
import { HttpError } from '../server/http-error.js';
import { sendJson } from '../server/http-io.js';
import type { Handler } from '../server/router.js';
import { emptyServeDetails, SERVE_STATUS_KV, serveDetails } from './serve-details.js';

export const serveRoutes: RouteGroup = (router, ctx) => {
  const handler: Handler = async (_req, res) => {
    const raw = await ctx.gcs.kvGet(SERVE_STATUS_KV.namespace, SERVE_STATUS_KV.key);
    if (raw === undefined) {
      sendJson(res, 200, emptyServeDetails());
      return;
    }
    try {
      sendJson(res, 200, serveDetails(JSON.parse(Buffer.from(raw).toString('utf8'))));
    } catch (error) {
      throw new HttpError(
        500,
        `the serve status record in the GCS KV (${SERVE_STATUS_KV.namespace}/${SERVE_STATUS_KV.key}) is unreadable: ${(error as Error).message}`,
      );
    }
  };
  router.get('/api/serve/applications/', handler);
};
