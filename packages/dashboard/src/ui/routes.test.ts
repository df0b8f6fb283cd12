// The web UI's files as a browser gets them, over real HTTP on loopback from the built dist/ui
// (npm run build first): the page and its hashed bundle without the token (they hold no data)
// while the APIs still answer 401, the right content types, a year's caching for hashed assets
// and revalidation (ETag → 304) for the page, gzip when accepted, a CSP that allows only this
// origin, and a clear 503 when the UI was never built.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { DashboardContext } from '../server/context.js';
import { Router } from '../server/router.js';
import { type DashboardHttpServer, startHttpServer } from '../server/server.js';
import { versionRoutes } from '../version/routes.js';
import { defaultUiDir, uiRoutesFrom } from './routes.js';

const TOKEN = 'c'.repeat(64);
const servers: DashboardHttpServer[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function serve(uiDir: string): Promise<{ base: string; logged: string[] }> {
  const router = new Router();
  const logged: string[] = [];
  const ctx = {
    log: (m: string) => logged.push(m),
    sessionDir: '/tmp/session_x',
  } as unknown as DashboardContext;
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, token: TOKEN, router });
  servers.push(server);
  await uiRoutesFrom(uiDir)(router, ctx);
  await versionRoutes(router, ctx);
  return { base: `http://127.0.0.1:${server.port}`, logged };
}

describe('the web UI routes', () => {
  it('serve the page and its bundle without the token, while the APIs still need it', async () => {
    const { base } = await serve(defaultUiDir());
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'.*connect-src 'self'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    const script = /<script type="module" src="(\/assets\/app-[A-Z0-9]+\.js)">/.exec(html)?.[1];
    const style = /<link rel="stylesheet" href="(\/assets\/app-[A-Z0-9]+\.css)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();

    const js = await fetch(`${base}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await js.text()).length).toBeGreaterThan(10_000);
    const css = await fetch(`${base}${style}`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toMatch(/\.uplot/);

    expect((await fetch(`${base}/api/version`)).status).toBe(401);
  });

  it('answer 304 to a matching ETag and gzip to a browser that accepts it', async () => {
    const { base } = await serve(defaultUiDir());
    const first = await fetch(`${base}/index.html`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const again = await fetch(`${base}/`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);

    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await first.text())![1];
    const plain = Buffer.from(await (await fetch(`${base}${script}`)).arrayBuffer());
    // node's fetch decodes gzip itself; a raw request shows what travels.
    const { request } = await import('node:http');
    const raw = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      request(`${base}${script}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }),
        );
      })
        .on('error', reject)
        .end();
    });
    expect(raw.encoding).toBe('gzip');
    expect(raw.body.length).toBeLessThan(plain.length / 2);
    expect(gunzipSync(raw.body).equals(plain)).toBe(true);
  });

  it('answer 404 for an asset that is not in the build', async () => {
    const { base } = await serve(defaultUiDir());
    const res = await fetch(`${base}/assets/app-OLD.js`);
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/no UI asset app-OLD\.js .*reload/);
  });

  it('say how to build the UI when it was not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tray-ui-none-'));
    dirs.push(dir);
    const { base, logged } = await serve(dir);
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/web UI is not built: run `npm run build`/);
    expect(logged.join('\n')).toMatch(/not built/);
  });
});
