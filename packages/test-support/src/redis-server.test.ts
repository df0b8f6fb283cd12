// A real redis-server: answers on its URL's port, lists keys, and is gone after stop.
import { connect } from 'node:net';
import { expect, it } from 'vitest';
import { isAlive } from './processes.js';
import { startRedisServer } from './redis-server.js';

function send(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(command));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString());
    });
    socket.once('error', reject);
  });
}

it('starts a redis-server on loopback that stores keys, and stops it', async () => {
  const redis = await startRedisServer();
  try {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await send(redis.port, 'SET tray:test:key 1\r\n')).toBe('+OK\r\n');
    expect(redis.keys('tray:test:*')).toEqual(['tray:test:key']);
  } finally {
    await redis.stop();
  }
  expect(isAlive(redis.pid)).toBe(false);
});
