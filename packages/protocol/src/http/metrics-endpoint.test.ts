// serveMetrics over real HTTP(S) on loopback: the token on every scrape, /metrics only, and with
// mutual TLS (certificates made with openssl by makeTestCerts) a scrape presenting the CA's
// client certificate is served while one without a certificate is refused in the handshake.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { makeTestCerts } from '@tray/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TlsConfig } from '../tls-config.js';
import { type MetricsEndpoint, serveMetrics } from './metrics-endpoint.js';

const TOKEN = 'metrics-endpoint-token';
const BODY = '# TYPE up gauge\nup 1\n';
const endpoints: MetricsEndpoint[] = [];
afterEach(async () => {
  for (const e of endpoints.splice(0)) await e.close();
});

let dir: string;
let certs: TlsConfig;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tray-metrics-tls-'));
  const files = makeTestCerts(dir, 'metrics');
  certs = { cert: readFileSync(files.cert), key: readFileSync(files.key), ca: readFileSync(files.ca) };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serve(tls: TlsConfig | false): Promise<MetricsEndpoint> {
  const e = await serveMetrics({
    token: TOKEN,
    tls,
    collect: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: BODY }),
  });
  endpoints.push(e);
  return e;
}

function httpsGet(
  url: string,
  options: { cert?: Buffer; key?: Buffer; ca: Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serveMetrics', () => {
  it('serves GET /metrics with the token only: 401 without or with a wrong one, 404 elsewhere, 405 for POST', async () => {
    const e = await serve(false);
    expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const ok = await fetch(e.url, { headers: auth });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/version=0\.0\.4/);
    expect(await ok.text()).toBe(BODY);
    expect((await fetch(e.url)).status).toBe(401);
    expect((await fetch(e.url, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    const other = await fetch(e.url.replace('/metrics', '/debug'), { headers: auth });
    expect(other.status).toBe(404);
    expect(await other.text()).toMatch(/metrics are at \/metrics/);
    expect((await fetch(e.url, { method: 'POST', headers: auth })).status).toBe(405);
  });

  it('with mutual TLS serves a client whose certificate the CA signed and refuses one without', async () => {
    const e = await serve(certs);
    expect(e.url.startsWith('https://')).toBe(true);
    const ok = await httpsGet(e.url, { cert: certs.cert, key: certs.key, ca: certs.ca });
    expect(ok).toEqual({ status: 200, body: BODY });
    await expect(httpsGet(e.url, { ca: certs.ca })).rejects.toThrow(/certificate|ECONNRESET|socket hang up/i);
  });

  it('refuses a bad port or an empty token at once', () => {
    expect(() => serveMetrics({ token: '', collect: async () => ({ contentType: '', body: '' }) })).toThrow(
      /cluster token/,
    );
    expect(() =>
      serveMetrics({ token: TOKEN, port: 70000, collect: async () => ({ contentType: '', body: '' }) }),
    ).toThrow(/0 to 65535/);
  });
});
