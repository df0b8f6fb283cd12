// freePort hands out a loopback port nobody listens on: a server can then take it.
import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { freePort } from './ports.js';

it('returns a port a server can listen on', async () => {
  const port = await freePort();
  expect(port).toBeGreaterThan(0);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  expect((server.address() as { port: number }).port).toBe(port);
  await new Promise((resolve) => server.close(resolve));
});
