// The dashboard in the calling process: joins the cluster (a GCS client at once, and a tray driver
// for the job supervisor actors when a route first needs one), registers every route group on one Router, and serves them over
// HTTP on the head's loopback address — HTTPS with the node's certificate when the cluster runs
// with TLS (`tray start --tls-*`: TRAY_USE_TLS and its files), or with `tls` given. `main.ts`
// runs this as the head's dashboard process.
import type * as Tray from '@tray/core';
import { GcsClient } from '@tray/gcs';
import { processTls } from '@tray/protocol';
import type { DashboardContext } from './server/context.js';
import { HttpError } from './server/http-error.js';
import { registerLoginRoutes } from './server/login-routes.js';
import { ROUTE_GROUPS } from './server/route-groups.js';
import { Router } from './server/router.js';
import { startHttpServer } from './server/server.js';

export interface DashboardOptions {
  /** `host:port` of the cluster's GCS. */
  gcsAddress: string;
  /** The cluster token: every route requires it. */
  token: string;
  /** The head node's session directory. */
  sessionDir: string;
  /** Default 127.0.0.1 (Ray's --dashboard-host default). */
  host?: string;
  /** Default 8265; 0 = any free port. A taken port is tried again one higher (portAttempts). */
  port?: number;
  portAttempts?: number;
  /** Past portAttempts taken ports, take any free one (tray.init()'s embedded dashboard). */
  anyPortAfterAttempts?: boolean;
  /** Join the cluster as a tray driver when a route needs one (to run jobs; default true). */
  joinCluster?: boolean;
  log?: (message: string) => void;
  /** HTTPS with this PEM certificate and key (default: the cluster's, when it uses TLS; false: HTTP). */
  tls?: { cert: Buffer; key: Buffer } | false;
}

export interface Dashboard {
  host: string;
  port: number;
  /** `http://host:port`, or `https://` */
  url: string;
  /** Set when the port is not the one asked for, saying why. */
  portNote?: string;
  close(): Promise<void>;
}

export const DEFAULT_DASHBOARD_PORT = 8265;
/** GCS KV namespace of the dashboard's URL (key `url`). */
export const DASHBOARD_KV_NAMESPACE = 'dashboard';

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const log = options.log ?? (() => {});
  const host = options.host ?? '127.0.0.1';
  const tls = options.tls === false ? undefined : (options.tls ?? processTls());
  const gcs = new GcsClient(options.gcsAddress, { token: options.token });
  const cleanups: (() => Promise<void> | void)[] = [];
  let url = '';
  const ctx: DashboardContext = {
    gcs,
    gcsAddress: options.gcsAddress,
    token: options.token,
    sessionDir: options.sessionDir,
    url: () => url,
    log,
    onClose: (cleanup) => cleanups.push(cleanup),
    driver: () => Promise.reject(new Error('not yet')),
  };
  let joining: Promise<typeof Tray> | undefined;
  const leave = async () => {
    for (const cleanup of cleanups.reverse()) {
      await Promise.resolve()
        .then(cleanup)
        .catch((err) => log(`cleanup failed: ${(err as Error).message}`));
    }
    if (joining) {
      const tray = await joining.catch(() => undefined);
      await tray?.shutdown().catch((err) => log(`leaving the cluster failed: ${(err as Error).message}`));
    }
    gcs.close();
  };
  ctx.driver = () => {
    if (!(options.joinCluster ?? true)) {
      return Promise.reject(new HttpError(503, 'this dashboard was started without joining the cluster'));
    }
    joining ??= (async () => {
      const tray = await import('@tray/core');
      await tray.init({
        address: options.gcsAddress,
        token: options.token,
        namespace: '_tray_dashboard',
        logToDriver: false,
      });
      log('joined the cluster as a driver');
      return tray;
    })();
    // A failed join is tried again by the next request.
    joining.catch(() => {
      joining = undefined;
    });
    return joining;
  };
  try {
    const router = new Router();
    const server = await startHttpServer({
      host,
      port: options.port ?? DEFAULT_DASHBOARD_PORT,
      portAttempts: options.portAttempts,
      anyPortAfterAttempts: options.anyPortAfterAttempts,
      token: options.token,
      router,
      log,
      ...(tls ? { tls } : {}),
    });
    registerLoginRoutes(router, server.gate);
    for (const group of ROUTE_GROUPS) await group(router, ctx);
    url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
    // Where `tray status` and `tray job` find the dashboard of a cluster they know the GCS of.
    await gcs.kvPut(DASHBOARD_KV_NAMESPACE, 'url', url);
    return {
      host,
      port: server.port,
      url,
      portNote: server.portNote,
      async close() {
        await server.close();
        await leave();
      },
    };
  } catch (err) {
    await leave();
    throw err;
  }
}
