// How the page talks to the dashboard server. Every call is a same-origin fetch that carries the
// HttpOnly session cookie (set by POST /api/login), never a token of its own. Responses are
// checked before they are used: a route the server does not serve (404/501, e.g. a state route
// that has not landed) becomes NotAvailable, so a page can say "not available" instead of
// breaking, and 401/403 becomes Unauthorized, which sends the app back to the login prompt.

/** The server does not serve this route (404 or 501), or the resource is not there. */
export class NotAvailable extends Error {
  constructor(
    readonly route: string,
    readonly status: number,
    detail: string,
  ) {
    super(`${route} is not available (HTTP ${status})${detail ? `: ${detail}` : ''}`);
    this.name = 'NotAvailable';
  }
}

/** The session cookie is missing, expired or wrong: the user has to log in (again). */
export class Unauthorized extends Error {
  constructor(route: string) {
    super(`${route}: the dashboard needs the cluster token`);
    this.name = 'Unauthorized';
  }
}

const unauthorizedListeners = new Set<() => void>();

/** Calls `listener` whenever a request comes back 401/403. Returns the unsubscribe function. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

async function errorDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (body && typeof body === 'object') return String(body.msg ?? body.message ?? body.error ?? text);
  } catch {
    // not JSON: the text itself is the detail
  }
  return text.slice(0, 300);
}

/** fetch() with the checks above; the response is ok when it returns. */
export async function request(route: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(route, { credentials: 'same-origin', ...init });
  if (res.status === 401 || res.status === 403) {
    for (const listener of unauthorizedListeners) listener();
    throw new Unauthorized(route);
  }
  if (res.status === 404 || res.status === 501)
    throw new NotAvailable(route, res.status, await errorDetail(res));
  if (!res.ok) throw new Error(`${route}: HTTP ${res.status}: ${await errorDetail(res)}`);
  return res;
}

export async function getJson<T = unknown>(route: string): Promise<T> {
  const res = await request(route, { headers: { accept: 'application/json' } });
  return (await res.json()) as T;
}

export async function postJson<T = unknown>(route: string, body: unknown): Promise<T> {
  const res = await request(route, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

export async function getText(route: string): Promise<string> {
  return (await request(route)).text();
}

/** A query string from the defined entries of `params` (arrays repeat the key, as Ray's state API wants). */
export function query(params: Record<string, string | number | boolean | undefined | string[]>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) search.append(key, String(one));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
