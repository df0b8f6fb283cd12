// The dashboard's only gate: the cluster token (docs/processes.md), as `Authorization: Bearer
// <token>` or the HttpOnly cookie `POST /api/login` sets. Compared in constant time over SHA-256
// digests (equal lengths whatever was sent). The cookie holds an HMAC of the token, never the
// token itself, and nothing here logs either.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'tray_dashboard_session';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

export class TokenGate {
  private readonly tokenDigest: Buffer;
  private readonly cookieDigest: Buffer;
  readonly cookieValue: string;

  constructor(token: string) {
    if (token === '') throw new Error('the dashboard needs the cluster token');
    this.tokenDigest = digest(token);
    this.cookieValue = createHmac('sha256', token).update('tray dashboard session').digest('hex');
    this.cookieDigest = digest(this.cookieValue);
  }

  /** Whether `candidate` is the cluster token (constant time). */
  tokenMatches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  /** Whether the request carries the token (Bearer) or the session cookie. */
  allows(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (typeof header === 'string') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (m && this.tokenMatches(m[1]!)) return true;
    }
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    return cookie !== undefined && timingSafeEqual(digest(cookie), this.cookieDigest);
  }

  /** The Set-Cookie header of a successful login (or, with clear, of a logout). */
  setCookie(secure: boolean, clear = false): string {
    const value = clear ? '' : this.cookieValue;
    const parts = [`${SESSION_COOKIE}=${value}`, 'HttpOnly', 'SameSite=Strict', 'Path=/'];
    if (clear) parts.push('Max-Age=0');
    if (secure) parts.push('Secure');
    return parts.join('; ');
  }
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
