// A free TCP port on loopback, for a server a test starts on a port of its own choosing (a
// redis-server, a GCS told its port) or for an address where nobody listens: bound, read, and
// released, so another process may take it in between (tests that need certainty bind port 0).
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
