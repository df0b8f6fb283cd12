// `POST /api/login` `{ "token": "..." }` → 204 with the HttpOnly session cookie (what the web UI
// uses instead of keeping the token in the page); 401 with a wrong token. `POST /api/logout`
// clears the cookie. The login route is the one API route served without the token.

import type { TokenGate } from './auth.js';
import { badRequest, HttpError } from './http-error.js';
import type { Router } from './router.js';

export function registerLoginRoutes(router: Router, gate: TokenGate): void {
  router.post(
    '/api/login',
    async (req, res) => {
      const body = await req.json();
      const token = (body as { token?: unknown } | null)?.token;
      if (body === null || typeof body !== 'object' || typeof token !== 'string' || token === '') {
        throw badRequest('POST /api/login takes {"token": "<the cluster token>"}');
      }
      if (!gate.tokenMatches(token)) throw new HttpError(401, 'wrong token');
      const secure = (req.raw.socket as { encrypted?: boolean }).encrypted === true;
      res.writeHead(204, { 'set-cookie': gate.setCookie(secure), 'cache-control': 'no-store' });
      res.end();
    },
    { public: true, bodyLimit: 4096 },
  );
  router.post('/api/logout', (_req, res) => {
    res.writeHead(204, { 'set-cookie': gate.setCookie(false, true), 'cache-control': 'no-store' });
    res.end();
  });
}
