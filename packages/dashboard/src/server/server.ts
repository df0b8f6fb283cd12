// The dashboard's HTTP server: routes from the Router, the token gate on every non-public
// route (401 before any body is read), JSON errors, WebSocket upgrades through `ws`. It listens
// on `host` (the head's loopback address unless --dashboard-host says otherwise); a port that is
// taken is tried again one higher, up to `portAttempts` times, and the caller is told which port
// it got and why (Ray's dashboard fails instead; tray.init() in parallel tests must not).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { TokenGate } from './auth.js';
import { HttpError } from './http-error.js';
import { DEFAULT_BODY_LIMIT, readJson, sendJson } from './http-io.js';
import type { DashboardRequest, Match, Router } from './router.js';

export interface HttpServerOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  token: string;
  router: Router;
  /** Ports tried from `port` up when it is taken (default 10; 1 = only `port`). */
  portAttempts?: number;
  /** After portAttempts taken ports, take any free one instead of failing (tray.init()'s). */
  anyPortAfterAttempts?: boolean;
  log?: (message: string) => void;
  /** Serve HTTPS with this certificate and key (PEM) instead of HTTP. */
  tls?: { cert: Buffer; key: Buffer };
}

export interface DashboardHttpServer {
  host: string;
  port: number;
  /** Why the port differs from the one asked for, if it does. */
  portNote?: string;
  gate: TokenGate;
  close(): Promise<void>;
}

function toRequest(req: IncomingMessage, url: URL, match: Match): DashboardRequest {
  const limit = match.route.options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  return {
    method: req.method ?? 'GET',
    url,
    params: match.params,
    raw: req,
    json: () => readJson(req, limit),
  };
}

function parseUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://dashboard');
  } catch {
    return undefined;
  }
}

export async function startHttpServer(options: HttpServerOptions): Promise<DashboardHttpServer> {
  const { router } = options;
  const log = options.log ?? (() => {});
  const gate = new TokenGate(options.token);
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  const fail = (res: ServerResponse, err: unknown) => {
    if (err instanceof HttpError) {
      if (!res.headersSent) sendJson(res, err.status, { error: err.message });
      else res.destroy();
      return;
    }
    log(`internal error: ${(err as Error)?.stack ?? err}`);
    if (!res.headersSent) sendJson(res, 500, { error: `internal error: ${(err as Error)?.message ?? err}` });
    else res.destroy();
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = parseUrl(req);
    if (url === undefined) return sendJson(res, 400, { error: `bad request URL: ${req.url}` });
    const { match, methods } = router.match(req.method ?? 'GET', url.pathname);
    if (match === undefined) {
      const allowed = methods.filter((m) => m !== 'WS');
      if (allowed.length > 0) {
        res.setHeader('allow', allowed.join(', '));
        return sendJson(res, 405, {
          error: `${req.method} is not allowed on ${url.pathname} (use ${allowed.join(' or ')})`,
        });
      }
      return sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    }
    if (!match.route.options.public && !gate.allows(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendJson(res, 401, {
        error:
          'this dashboard requires the cluster token: send "Authorization: Bearer <token>" (the token is in the session directory\'s token file, or TRAY_TOKEN), or log in with POST /api/login',
      });
    }
    Promise.resolve()
      .then(() => match.route.handler!(toRequest(req, url, match), res))
      .catch((err) => fail(res, err));
  };
  const server: Server | HttpsServer = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handle)
    : createServer(handle);

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, message: string) => {
      const body = JSON.stringify({ error: message });
      socket.end(
        `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Not Found'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    const url = parseUrl(req);
    const found = url ? router.match('WS', url.pathname).match : undefined;
    if (url === undefined || found === undefined) return refuse(404, `no WebSocket route ${req.url}`);
    if (!found.route.options.public && !gate.allows(req)) {
      return refuse(
        401,
        'this dashboard requires the cluster token (Authorization: Bearer, or the login cookie)',
      );
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      Promise.resolve()
        .then(() => found.route.socket!(ws, toRequest(req, url, found)))
        .catch((err) => {
          const message =
            err instanceof HttpError ? err.message : `internal error: ${(err as Error)?.message}`;
          if (!(err instanceof HttpError)) log(`internal error: ${(err as Error)?.stack ?? err}`);
          ws.close(1011, message.slice(0, 120));
        });
    });
  });

  const attempts = options.port === 0 ? 1 : Math.max(1, options.portAttempts ?? 10);
  let port = options.port;
  let portNote: string | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' && attempt >= attempts && options.anyPortAfterAttempts && port !== 0) {
        port = 0;
        continue;
      }
      if (code !== 'EADDRINUSE' || attempt >= attempts) {
        const tried = attempt > 1 ? ` (tried ports ${options.port}-${port})` : '';
        throw new Error(
          code === 'EADDRINUSE'
            ? `the dashboard port ${port} on ${options.host} is in use${tried}: stop what holds it, or pick another with --dashboard-port (0 = any free port)`
            : `the dashboard cannot listen on ${options.host}:${port}: ${(err as Error).message}`,
        );
      }
      port++;
    }
  }
  const bound = (server.address() as { port: number }).port;
  if (options.port !== 0 && bound !== options.port) {
    portNote =
      port === 0
        ? `ports ${options.port}-${options.port + attempts - 1} were in use, so the dashboard took a free one, ${bound}`
        : `port ${options.port} was in use, so the dashboard took the next free one, ${bound}`;
  }
  return {
    host: options.host,
    port: bound,
    portNote,
    gate,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate();
        sockets.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
