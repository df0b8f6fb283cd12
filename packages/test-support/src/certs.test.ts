// The test certificates work for mutual TLS on 127.0.0.1: a server and a client with the same
// CA connect, both authorized; a client that trusts another CA is refused.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, createServer } from 'node:tls';
import { afterAll, expect, it } from 'vitest';
import { makeTestCerts } from './certs.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-certs-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('makes a CA and a node certificate that pass mutual TLS, and only with that CA', async () => {
  const good = makeTestCerts(dir, 'good');
  const other = makeTestCerts(dir, 'other');
  const pem = (p: string) => readFileSync(p);
  const server = createServer(
    {
      cert: pem(good.cert),
      key: pem(good.key),
      ca: pem(good.ca),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => socket.end(socket.authorized ? 'client ok' : 'client not authorized'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const dial = (certs: typeof good) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        cert: pem(certs.cert),
        key: pem(certs.key),
        ca: pem(certs.ca),
      });
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.once('end', () => resolve(data));
      socket.once('error', reject);
    });
  try {
    expect(await dial(good)).toBe('client ok');
    await expect(dial(other)).rejects.toThrow(/self-signed|unable to verify|certificate/i);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

it('refuses a name that would make odd file names', () => {
  expect(() => makeTestCerts(dir, '../x')).toThrow(/name must be letters/);
});
