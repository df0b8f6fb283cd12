// The seam every route group registers on: `router.get('/api/jobs/{job_id}', handler)`. Patterns
// are literal segments and `{name}` parameters (one segment each, URL-decoded); a trailing slash
// is ignored, so Ray's `/api/jobs/` and `/api/jobs` are one route. `ws` routes answer WebSocket
// upgrades. Every route requires the cluster token unless registered with `{ public: true }`
// (only the login route and the web UI's static files should be).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';

export interface DashboardRequest {
  method: string;
  /** The parsed URL (searchParams for query strings). */
  url: URL;
  /** `{name}` segments of the pattern, decoded. */
  params: Record<string, string>;
  raw: IncomingMessage;
  /** The body as JSON (size-limited: 413 past the limit; 400 if it is not JSON). */
  json(): Promise<unknown>;
}

export type Handler = (req: DashboardRequest, res: ServerResponse) => Promise<void> | void;
export type SocketHandler = (socket: WebSocket, req: DashboardRequest) => Promise<void> | void;

export interface RouteOptions {
  /** Served without the token (login, static UI files). */
  public?: boolean;
  /** Largest accepted body in bytes (default DEFAULT_BODY_LIMIT). */
  bodyLimit?: number;
}

export interface Route {
  method: string;
  pattern: string;
  segments: string[];
  options: RouteOptions;
  handler?: Handler;
  socket?: SocketHandler;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

export class Router {
  readonly routes: Route[] = [];

  get(pattern: string, handler: Handler, options: RouteOptions = {}): void {
    this.add('GET', pattern, { handler }, options);
  }

  post(pattern: string, handler: Handler, options: RouteOptions = {}): void {
    this.add('POST', pattern, { handler }, options);
  }

  put(pattern: string, handler: Handler, options: RouteOptions = {}): void {
    this.add('PUT', pattern, { handler }, options);
  }

  delete(pattern: string, handler: Handler, options: RouteOptions = {}): void {
    this.add('DELETE', pattern, { handler }, options);
  }

  /** A WebSocket endpoint (GET with `Upgrade: websocket`). */
  ws(pattern: string, socket: SocketHandler, options: RouteOptions = {}): void {
    this.add('WS', pattern, { socket }, options);
  }

  private add(
    method: string,
    pattern: string,
    target: Pick<Route, 'handler' | 'socket'>,
    options: RouteOptions,
  ): void {
    if (!pattern.startsWith('/')) throw new Error(`route pattern must start with '/': ${pattern}`);
    const segments = split(pattern);
    if (this.routes.some((r) => r.method === method && r.segments.join('/') === segments.join('/'))) {
      throw new Error(`route ${method} ${pattern} is registered twice`);
    }
    this.routes.push({ method, pattern, segments, options, ...target });
  }

  /** The route for `method path`, or undefined; `methods` lists what the path allows (for 405). */
  match(method: string, path: string): { match?: Match; methods: string[] } {
    const parts = split(path);
    const methods: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (params === undefined) continue;
      if (route.method === method) return { match: { route, params }, methods };
      methods.push(route.method);
    }
    return { methods };
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const part = parts[i]!;
    if (p.startsWith('{') && p.endsWith('}')) {
      let value: string;
      try {
        value = decodeURIComponent(part);
      } catch {
        return undefined;
      }
      params[p.slice(1, -1)] = value;
    } else if (p !== part) {
      return undefined;
    }
  }
  return params;
}
