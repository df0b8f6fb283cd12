// The server's gate and plumbing over real HTTP on loopback: the token (Bearer or the login
// cookie) on every non-public route, JSON errors (400 bad JSON, 404, 405, 413 past the body
// limit), WebSocket upgrades behind the same gate, and a taken port moving to the next one.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { sendJson } from './http-io.js';
import { registerLoginRoutes } from './login-routes.js';
import { Router } from './router.js';
import { type DashboardHttpServer, startHttpServer } from './server.js';

const TOKEN = 'a'.repeat(64);
const servers: DashboardHttpServer[] = [];
const blockers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(blockers.splice(0).map((b) => new Promise((r) => b.close(r))));
});

async function serve(port = 0): Promise<{ base: string; server: DashboardHttpServer }> {
  const router = new Router();
  router.get('/api/echo/{id}', (req, res) => sendJson(res, 200, { id: req.params.id }));
  router.post('/api/echo', async (req, res) => sendJson(res, 200, { got: await req.json() }), {
    bodyLimit: 1024,
  });
  router.ws('/api/socket', (ws) => ws.send('hello'));
  const server = await startHttpServer({ host: '127.0.0.1', port, token: TOKEN, router });
  registerLoginRoutes(router, server.gate);
  servers.push(server);
  return { base: `http://127.0.0.1:${server.port}`, server };
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('the dashboard HTTP server', () => {
  it('refuses a request without the token (401) or with a wrong one, and serves it with the token', async () => {
    const { base } = await serve();
    const none = await fetch(`${base}/api/echo/x`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: string }).error).toMatch(/Authorization: Bearer/);
    const wrong = await fetch(`${base}/api/echo/x`, {
      headers: { authorization: `Bearer ${'b'.repeat(64)}` },
    });
    expect(wrong.status).toBe(401);
    const short = await fetch(`${base}/api/echo/x`, { headers: { authorization: 'Bearer a' } });
    expect(short.status).toBe(401);
    const ok = await fetch(`${base}/api/echo/a%20b`, { headers: auth });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id: 'a b' });
  });

  it('POST /api/login with the token sets an HttpOnly cookie that then authorizes; a wrong token is 401', async () => {
    const { base } = await serve();
    const bad = await fetch(`${base}/api/login`, { method: 'POST', body: JSON.stringify({ token: 'nope' }) });
    expect(bad.status).toBe(401);
    const login = await fetch(`${base}/api/login`, {
      method: 'POST',
      body: JSON.stringify({ token: TOKEN }),
    });
    expect(login.status).toBe(204);
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).not.toContain(TOKEN);
    const withCookie = await fetch(`${base}/api/echo/1`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(withCookie.status).toBe(200);
    const forged = await fetch(`${base}/api/echo/1`, {
      headers: { cookie: 'tray_dashboard_session=forged' },
    });
    expect(forged.status).toBe(401);
  });

  it('answers bad JSON with 400, a body past the limit with 413, unknown routes 404 and wrong methods 405', async () => {
    const { base } = await serve();
    const notJson = await fetch(`${base}/api/echo`, { method: 'POST', headers: auth, body: '{oops' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toMatch(/not valid JSON/);
    const huge = await fetch(`${base}/api/echo`, { method: 'POST', headers: auth, body: 'x'.repeat(10_000) });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: string }).error).toMatch(/larger than 1024 bytes/);
    expect((await fetch(`${base}/api/nothing`, { headers: auth })).status).toBe(404);
    const wrongMethod = await fetch(`${base}/api/echo`, { method: 'DELETE', headers: auth });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('upgrades a WebSocket only with the token', async () => {
    const { server } = await serve();
    const url = `ws://127.0.0.1:${server.port}/api/socket`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(refused).toBe(401);
    const message = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(url, { headers: auth });
      ws.on('message', (data) => {
        resolve(String(data));
        ws.close();
      });
      ws.on('error', reject);
    });
    expect(message).toBe('hello');
  });

  it('takes the next port when the asked one is in use, and says so', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    blockers.push(blocker);
    const taken = (blocker.address() as { port: number }).port;
    const { server } = await serve(taken);
    expect(server.port).toBeGreaterThan(taken);
    expect(server.portNote).toMatch(new RegExp(`port ${taken} was in use`));
  });
});
