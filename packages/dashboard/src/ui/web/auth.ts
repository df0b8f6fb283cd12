// The token rule on the page's side. The token reaches the page either typed into the login
// prompt or in the URL fragment (http://host:8265/#token=...), which browsers never send to a
// server, so it is in no request line and no server log. The page takes it out of the address
// bar at once (history.replaceState, before any request), posts it to POST /api/login, and from
// then on only the HttpOnly, SameSite=Strict cookie the server sets authenticates; the page
// itself keeps no copy of the token (not in storage, not in memory after the call).
import { request } from './api.js';

const FRAGMENT_TOKEN = /(?:^#|&)token=([^&]*)/;

/** The token in `hash` (a location.hash), or undefined; `rest` is the fragment without it. */
export function tokenFromFragment(hash: string): { token?: string; rest: string } {
  const match = FRAGMENT_TOKEN.exec(hash);
  if (!match) return { rest: hash };
  let token: string;
  try {
    token = decodeURIComponent(match[1]);
  } catch {
    token = match[1];
  }
  const others = hash
    .replace(/^#/, '')
    .split('&')
    .filter((part) => !part.startsWith('token='));
  const rest = others.join('&');
  return { token: token || undefined, rest: rest ? `#${rest}` : '' };
}

/** Exchanges `token` for the session cookie; rejects with the server's reason when it is wrong. */
export async function login(token: string): Promise<void> {
  const res = await fetch('/api/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (res.ok) return;
  if (res.status === 401 || res.status === 403) {
    throw new Error(
      'the token was not accepted: copy it from the head node (the session directory’s `token` file)',
    );
  }
  throw new Error(`login failed: HTTP ${res.status} ${await res.text().catch(() => '')}`.trim());
}

/** Clears the session cookie (POST /api/logout, when the server has it). */
export async function logout(): Promise<void> {
  await request('/api/logout', { method: 'POST' }).catch(() => undefined);
}

/**
 * At page load: when the fragment carries a token, removes it from the address bar and logs in
 * with it. Resolves to an error message when that login failed, otherwise to undefined.
 */
export async function loginFromFragment(): Promise<string | undefined> {
  const { token, rest } = tokenFromFragment(location.hash);
  if (token === undefined) return undefined;
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest || '#/'}`);
  try {
    await login(token);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Whether the session cookie is good: any authenticated route answers 200 (or 404 when absent). */
export async function isLoggedIn(): Promise<boolean> {
  const res = await fetch('/api/version', { credentials: 'same-origin' });
  return res.status !== 401 && res.status !== 403;
}
