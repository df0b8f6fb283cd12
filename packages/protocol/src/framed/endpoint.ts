// Opening framed connections: `listen` for servers, `connect` for clients. A target is a Unix
// socket path or a TCP host and port. TCP servers bind to loopback unless told otherwise, and
// any server may require the cluster token, which the client sends in its first frame.
import { timingSafeEqual } from 'node:crypto';
import { existsSync, unlinkSync } from 'node:fs';
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';
import { Connection, type ConnectionOptions } from './connection.js';

export type Target = string | { host?: string; port: number };

export interface ListenOptions extends ConnectionOptions {
  /** Require this cluster token in the first frame of every connection. */
  token?: string;
  /** Label for the connections' errors and logs. */
  label?: string;
  /** With a token: cut off a connection that has not sent it within this long (default 10 s). */
  helloTimeoutMs?: number;
}

export interface ConnectOptions extends ConnectionOptions {
  token?: string;
  label?: string;
  /** Give up connecting after this long (default 10 s). */
  timeoutMs?: number;
}

export interface FramedServer {
  /** The socket path, or the TCP host and (possibly ephemeral) port bound. */
  readonly address: string | { host: string; port: number };
  /** Connections currently open. */
  readonly connections: ReadonlySet<Connection>;
  /** Stop accepting, close every connection, and remove the socket file. */
  close(): Promise<void>;
  /** Let the process exit while the server listens (net.Server#unref). */
  unref(): void;
}

function describe(target: Target): string {
  return typeof target === 'string' ? target : `${target.host ?? '127.0.0.1'}:${target.port}`;
}

/** Compare a presented token with the expected one in constant time. */
export function tokenMatches(expected: Buffer, presented: Buffer): boolean {
  if (presented.length !== expected.length) {
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(expected, presented);
}

/** Serve framed connections at `target`; `onConnection` registers handlers on each. */
export function listen(
  target: Target,
  onConnection: (connection: Connection) => void,
  options: ListenOptions = {},
): Promise<FramedServer> {
  const connections = new Set<Connection>();
  const expected = options.token !== undefined ? Buffer.from(options.token, 'utf8') : undefined;
  const server: Server = createServer((socket: Socket) => {
    const connection = new Connection(socket, options, options.label ?? 'client');
    if (expected !== undefined) {
      connection.authenticate = (presented) => tokenMatches(expected, presented);
      // A peer that connects and stays silent would hold its socket forever.
      const timer = setTimeout(() => {
        if (connection.authenticate !== undefined) connection.destroy();
      }, options.helloTimeoutMs ?? 10_000);
      timer.unref();
      const stop = () => clearTimeout(timer);
      connection.once('authenticated', stop);
      connection.once('close', stop);
    }
    connections.add(connection);
    connection.on('close', () => connections.delete(connection));
    onConnection(connection);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${describe(target)}: ${err.message}`)));
    const ready = () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      const bound = server.address();
      const address =
        typeof target === 'string'
          ? target
          : { host: (bound as AddressInfo).address, port: (bound as AddressInfo).port };
      resolve({
        address,
        connections,
        unref: () => {
          server.unref();
        },
        close: () =>
          new Promise<void>((done) => {
            for (const c of connections) c.destroy();
            server.close(() => {
              if (typeof target === 'string' && existsSync(target)) {
                try {
                  unlinkSync(target);
                } catch {}
              }
              done();
            });
          }),
      });
    };
    if (typeof target === 'string') {
      // A socket file left by a process that died is stale: nobody can be listening on it.
      if (existsSync(target)) unlinkSync(target);
      server.listen(target, ready);
    } else {
      server.listen(target.port, target.host ?? '127.0.0.1', ready);
    }
  });
}

/** Open a framed connection to `target`. */
export function connect(target: Target, options: ConnectOptions = {}): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket =
      typeof target === 'string'
        ? createConnection(target)
        : createConnection({ host: target.host ?? '127.0.0.1', port: target.port });
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out after ${timeoutMs} ms connecting to ${describe(target)}`));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot connect to ${describe(target)}: ${err.message}`));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      const connection = new Connection(socket, options, options.label ?? describe(target));
      if (options.token !== undefined) connection.hello(options.token);
      resolve(connection);
    });
  });
}
