// Opening framed connections: `listen` for servers, `connect` for clients. A target is a Unix
// socket path or a TCP host and port. TCP servers bind to loopback unless told otherwise, and
// any server may require the cluster token, which the client sends in its first frame. TCP
// speaks mutual TLS when the process is configured for it (tls-config: TRAY_USE_TLS) or told
// so; Unix sockets are always plain.
import { timingSafeEqual } from 'node:crypto';
import { existsSync, unlinkSync } from 'node:fs';
import { type AddressInfo, createConnection, createServer, isIP, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { processTls, type TlsConfig } from '../tls-config.js';
import { Connection, type ConnectionOptions } from './connection.js';

export type Target = string | { host?: string; port: number };

export interface ListenOptions extends ConnectionOptions {
  /** Require this cluster token in the first frame of every connection. */
  token?: string;
  /** Label for the connections' errors and logs. */
  label?: string;
  /** With a token: cut off a connection that has not sent it within this long (default 10 s). */
  helloTimeoutMs?: number;
  /** TCP only: serve mutual TLS with this (default: the process's, TRAY_USE_TLS); false: plain. */
  tls?: TlsConfig | false;
}

export interface ConnectOptions extends ConnectionOptions {
  token?: string;
  label?: string;
  /** Give up connecting after this long (default 10 s). */
  timeoutMs?: number;
  /** TCP only: connect with mutual TLS (default: the process's, TRAY_USE_TLS); false: plain. */
  tls?: TlsConfig | false;
}

function tlsFor(target: Target, option: TlsConfig | false | undefined): TlsConfig | undefined {
  if (typeof target === 'string' || option === false) return undefined;
  return option ?? processTls();
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
  const tls = tlsFor(target, options.tls);
  const accept = (socket: Socket) => {
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
  };
  let server: Server;
  if (tls === undefined) {
    server = createServer(accept);
  } else {
    // Peers must present a certificate our CA signed; a handshake that fails (plain text, an
    // unknown CA) just closes that socket.
    server = createTlsServer(
      { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true },
      accept,
    );
    server.on('tlsClientError', () => {});
  }
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
  const tls = tlsFor(target, options.tls);
  return new Promise((resolve, reject) => {
    let socket: Socket;
    if (typeof target === 'string') {
      socket = createConnection(target);
    } else if (tls === undefined) {
      socket = createConnection({ host: target.host ?? '127.0.0.1', port: target.port });
    } else {
      const host = target.host ?? '127.0.0.1';
      socket = tlsConnect({
        host,
        port: target.port,
        cert: tls.cert,
        key: tls.key,
        ca: tls.ca,
        // SNI takes names only; an IP address is checked against the certificate's IP SANs.
        ...(isIP(host) === 0 ? { servername: host } : {}),
      });
    }
    const connectEvent = tls === undefined ? 'connect' : 'secureConnect';
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out after ${timeoutMs} ms connecting to ${describe(target)}`));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      const how =
        tls === undefined
          ? ''
          : ' over TLS (is the server using TLS, and did the CA of TRAY_TLS_CA_CERT sign its certificate?)';
      reject(new Error(`cannot connect to ${describe(target)}${how}: ${err.message}`));
    });
    socket.once(connectEvent, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      const connection = new Connection(socket, options, options.label ?? describe(target));
      if (options.token !== undefined) connection.hello(options.token);
      resolve(connection);
    });
  });
}
