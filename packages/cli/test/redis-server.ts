// A real redis-server for the CLI's tests: a free loopback port, no persistence files, answered
// PING before use, killed by pid in `stop`. Fails loudly when redis-server is not installed (the
// tests must not skip).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

export interface RedisServer {
  url: string;
  pid: number;
  /** The keys matching a glob pattern (redis-cli --scan). */
  keys(pattern: string): string[];
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
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
    throw new Error('redis-server is not on PATH: these tests need it (apt-get install -y redis-server)');
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
  };
  const deadline = Date.now() + 20_000;
  while (!(await ping(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on port ${port} did not answer PING (exit ${child.exitCode})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const keys = (pattern: string) =>
    execFileSync('redis-cli', ['-p', String(port), '--scan', '--pattern', pattern], { encoding: 'utf8' })
      .split('\n')
      .filter((key) => key.length > 0);
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid as number, keys, stop };
}
