// A real redis-server for the tests of Redis-backed GCS storage: on a free loopback port, without
// persistence files, used only after it answered PING, killed by pid in `stop`. It fails loudly
// when redis-server is not installed: those tests must run, never skip.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  /** The keys matching a glob pattern (redis-cli --scan). */
  keys(pattern: string): string[];
  /** SIGKILL it and wait until it has exited. */
  stop(): Promise<void>;
}

/** One PING over a raw socket; true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function startRedisServer(): Promise<RedisServer> {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'redis-server is not on PATH: these tests need it. Install it: apt-get install -y redis-server',
    );
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
        return ping(port);
      },
      { what: `redis-server on port ${port} to answer PING` },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const keys = (pattern: string) =>
    execFileSync('redis-cli', ['-p', String(port), '--scan', '--pattern', pattern], { encoding: 'utf8' })
      .split('\n')
      .filter((key) => key.length > 0);
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid!, keys, stop };
}
