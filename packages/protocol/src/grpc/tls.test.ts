// TLS on the gRPC helpers, with a self-signed certificate for localhost/127.0.0.1 kept as a
// test fixture (fixtures/, valid for 100 years, used nowhere else).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { InternalKVGcsService } from '../../generated/services.js';
import { RemoteError } from '../errors.js';
import { createGrpcClient } from './client.js';
import { createGrpcServer, GrpcStatus } from './server.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name));
const cert = fixture('localhost-cert.pem');
const key = fixture('localhost-key.pem');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('serves TLS with the token to a client that trusts the certificate, and only over TLS', async () => {
  const server = createGrpcServer({ token: 't0k3n', tls: { cert, key } });
  server.addService(InternalKVGcsService, { InternalKVExists: (req) => ({ exists: req.key.length === 3 }) });
  cleanups.push(() => server.close(100));
  const port = await server.listen();

  const secure = createGrpcClient(`localhost:${port}`, { token: 't0k3n', tls: { ca: cert } });
  cleanups.push(() => secure.close());
  expect((await secure.call(InternalKVGcsService.InternalKVExists, { key: Buffer.from('abc') })).exists).toBe(
    true,
  );

  const plain = createGrpcClient(`127.0.0.1:${port}`, { token: 't0k3n', retries: 0 });
  cleanups.push(() => plain.close());
  const err = await plain
    .call(InternalKVGcsService.InternalKVExists, {}, { deadlineMs: 2000 })
    .catch((e) => e);
  expect(err).toBeInstanceOf(RemoteError);
  expect(err.grpcCode).toBe(GrpcStatus.UNAVAILABLE);
});
