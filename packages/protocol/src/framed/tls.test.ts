// The framed transport over TCP with mutual TLS, using certificates made with openssl for this
// test (makeTestCerts: a CA and a certificate it signed for 127.0.0.1): requests go through, a
// plain-text client is refused, a client that trusts another CA is refused with an error that
// says TLS and why, and Unix sockets stay plain.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTestCerts } from '@tray/test-support';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { InternalKVGcsService } from '../../generated/services.js';
import type { TlsConfig } from '../tls-config.js';
import { connect, listen } from './endpoint.js';
import { Cleanup, socketPath } from './test-support.js';

const TOKEN = 'tls-test-token';
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

let dir: string;
let good: TlsConfig;
let other: TlsConfig;

/** The certificates of @tray/test-support's makeTestCerts, read as the TLS config takes them. */
function makeCerts(name: string): TlsConfig {
  const files = makeTestCerts(dir, name);
  return { cert: readFileSync(files.cert), key: readFileSync(files.key), ca: readFileSync(files.ca) };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tray-tls-'));
  good = makeCerts('good');
  other = makeCerts('other');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function tlsServer() {
  const server = await listen(
    { host: '127.0.0.1', port: 0 },
    (c) => c.handle(InternalKVGcsService.InternalKVGet, (req) => ({ found: true, value: req.key })),
    { token: TOKEN, tls: good },
  );
  cleanup.add(() => server.close());
  return (server.address as { port: number }).port;
}

it('serves requests over mutual TLS to a client whose certificate the CA signed', async () => {
  const port = await tlsServer();
  const client = await connect({ host: '127.0.0.1', port }, { token: TOKEN, tls: good });
  cleanup.add(() => client.close());
  expect(client.socket.constructor.name).toBe('TLSSocket');
  const reply = await client.request(InternalKVGcsService.InternalKVGet, { key: Buffer.from('over tls') });
  expect(Buffer.from(reply.value).toString()).toBe('over tls');
});

it('refuses a plain-text client: its requests fail, the token never reaches a handler', async () => {
  const port = await tlsServer();
  const plain = await connect({ host: '127.0.0.1', port }, { token: TOKEN, tls: false });
  cleanup.add(() => plain.close());
  await expect(
    plain.request(InternalKVGcsService.InternalKVGet, { key: Buffer.from('x') }, { timeoutMs: 20_000 }),
  ).rejects.toThrow(/closed/);
});

it('refuses a server whose certificate another CA signed, saying it is a TLS failure', async () => {
  const port = await tlsServer();
  const wrongCa = { ...good, ca: other.ca };
  await expect(connect({ host: '127.0.0.1', port }, { token: TOKEN, tls: wrongCa })).rejects.toThrow(
    /cannot connect to 127\.0\.0\.1:\d+ over TLS .*TRAY_TLS_CA_CERT.*: .*(certificate|verify)/,
  );
  // And a client whose own certificate another CA signed is refused by the server.
  const stranger = connect(
    { host: '127.0.0.1', port },
    { token: TOKEN, tls: { ...other, ca: good.ca } },
  ).then((c) => {
    cleanup.add(() => c.close());
    return c.request(InternalKVGcsService.InternalKVGet, { key: Buffer.from('x') }, { timeoutMs: 20_000 });
  });
  await expect(stranger).rejects.toThrow(/closed|certificate|alert/);
}, 30_000);

it('keeps Unix sockets plain even when TLS is configured', async () => {
  const sock = socketPath(cleanup, 'plain-unix');
  const server = await listen(
    sock,
    (c) => c.handle(InternalKVGcsService.InternalKVGet, () => ({ found: true })),
    {
      token: TOKEN,
      tls: good,
    },
  );
  cleanup.add(() => server.close());
  const client = await connect(sock, { token: TOKEN, tls: good });
  cleanup.add(() => client.close());
  expect(client.socket.constructor.name).toBe('Socket');
  expect((await client.request(InternalKVGcsService.InternalKVGet, {})).found).toBe(true);
});
