// The HTTP endpoint a daemon (raylet, GCS) serves its Prometheus metrics on: `GET /metrics`
// and nothing else, behind the cluster token as `Authorization: Bearer <token>` (compared in
// constant time, as every other server of a session does), bound to the address it is given.
// With the process's mutual TLS (TRAY_USE_TLS) it speaks HTTPS and asks for a client
// certificate the CA signed, like the gRPC servers. What the body says is the caller's: this
// module knows no metric, it only carries `collect()`'s text.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tokenMatches } from '../framed/endpoint.js';
import { processTls, type TlsConfig } from '../tls-config.js';

export interface MetricsEndpointOptions {
  /** Interface to bind (the node's address; loopback unless told otherwise). */
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** The cluster token every scrape must present. */
  token: string;
  /** The exposition text and its content type (prom-client's `registry.metrics()`, `.contentType`). */
  collect: () => Promise<{ contentType: string; body: string }>;
  /** HTTPS with client certificates: this config, else the process's (TRAY_USE_TLS); false: plain HTTP. */
  tls?: TlsConfig | false;
}

export interface MetricsEndpoint {
  readonly host: string;
  readonly port: number;
  /** `http(s)://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

const BEARER = 'Bearer ';

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    ...(status === 401 ? { 'www-authenticate': 'Bearer realm="tray"' } : {}),
  });
  res.end(`${message}\n`);
}

/** Serve `collect()` at GET /metrics on host:port; resolves once listening. */
export function serveMetrics(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  if (typeof options.token !== 'string' || options.token.length === 0)
    throw new TypeError('serveMetrics needs the cluster token (a non-empty string)');
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new RangeError(`the metrics export port must be a whole number from 0 to 65535, got ${port}`);
  const host = options.host ?? '127.0.0.1';
  const expected = Buffer.from(options.token, 'utf8');
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith(BEARER)) {
      refuse(res, 401, 'this endpoint requires the cluster token: send `Authorization: Bearer <token>`');
      return;
    }
    if (!tokenMatches(expected, Buffer.from(header.slice(BEARER.length), 'utf8'))) {
      refuse(res, 401, 'the cluster token is wrong');
      return;
    }
    const url = (req.url ?? '/').split('?')[0];
    if (url !== '/metrics') {
      refuse(res, 404, `no such path ${JSON.stringify(url)}: metrics are at /metrics`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      refuse(res, 405, `${req.method} is not allowed: scrape /metrics with GET`);
      return;
    }
    options.collect().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err) => refuse(res, 500, `collecting the metrics failed: ${(err as Error).message}`),
    );
  };
  const tls = options.tls === false ? undefined : (options.tls ?? processTls());
  const server: Server = tls
    ? createHttpsServer(
        { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true },
        handle,
      )
    : createHttpServer(handle);
  // Scrapes are small GETs: nothing is read from a request body.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`cannot serve metrics on ${host}:${port}: ${(err as Error).message}`)),
    );
    server.listen(port, host, () => {
      const bound = (server.address() as AddressInfo).port;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        host,
        port: bound,
        url: `${tls ? 'https' : 'http'}://${shown}:${bound}/metrics`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
