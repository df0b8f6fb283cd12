// Connections to other tray processes over the framed transport, one per peer and shared by
// everything this process sends it: core workers keep one for owners, leased workers and actors
// and one for other nodes' raylets; a raylet one for the raylets it fetches objects from. A peer
// on this node is reached over its Unix socket, a peer on another node over TCP at its address's
// ip and port (addressTarget). A connection is opened on first use and forgotten when it closes
// (or fails to open), so the next use opens a fresh one.
import type { tray } from '../../generated/proto.js';
import { addressTarget } from './address-target.js';
import type { Connection } from './connection.js';
import { connect, type Target } from './endpoint.js';

export interface PeerConnectionsOptions {
  /** How long opening a connection may take (default: connect's, 10 s). */
  connectTimeoutMs?: number;
  /** TCP keep-alive on every connection, so a peer whose host vanished (no FIN, no RST) is noticed. */
  keepAliveMs?: number;
  /** The connection's name in its errors (default `<kind> at <host:port or socket>`). */
  label?: (key: string, address: tray.v1.IAddress) => string;
  /** What `get` rejects with once `close()` was called. */
  closedError?: () => Error;
  /** `close()` cuts the connections at once instead of flushing them first. */
  destroyOnClose?: boolean;
}

function hex(bytes: Uint8Array): string {
  return Buffer.isBuffer(bytes)
    ? bytes.toString('hex')
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export class PeerConnections {
  private readonly open = new Map<string, Promise<Connection>>();
  /** The node (hex) of each peer on another node, by connection key (see closeNode). */
  private readonly remote = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly token: string,
    /** Called with each connection this opens (before it is used). */
    private readonly opened: (connection: Connection) => void,
    /** This process's node (hex): peers on it are reached over their Unix sockets. */
    private readonly nodeIdHex: string,
    /** What the peers are, for errors and logs ("worker", "raylet"). */
    private readonly kind = 'worker',
    private readonly options: PeerConnectionsOptions = {},
  ) {}

  /** The connection to the process at `address` (opened on first use). */
  get(address: tray.v1.IAddress): Promise<Connection> {
    if (this.closed) {
      return Promise.reject(this.options.closedError?.() ?? new Error('this tray process is shutting down'));
    }
    const { key, target } = this.route(address);
    let pending = this.open.get(key);
    if (pending === undefined) {
      const { connectTimeoutMs, keepAliveMs, label } = this.options;
      pending = connect(target, {
        token: this.token,
        label: label ? label(key, address) : `${this.kind} at ${key}`,
        ...(connectTimeoutMs === undefined ? {} : { timeoutMs: connectTimeoutMs }),
      }).then((c) => {
        if (keepAliveMs !== undefined) c.socket.setKeepAlive(true, keepAliveMs);
        this.opened(c);
        c.on('close', () => this.forget(key, pending));
        return c;
      });
      pending.catch(() => this.forget(key, pending));
      this.open.set(key, pending);
      if (address.nodeId?.length && hex(address.nodeId) !== this.nodeIdHex) {
        this.remote.set(key, hex(address.nodeId));
      }
    }
    return pending;
  }

  /** The other nodes (hex ids) this process has connections to. */
  remoteNodes(): Set<string> {
    return new Set(this.remote.values());
  }

  /**
   * The GCS marked `nodeIdHex` dead: close every connection to a peer there. A machine that lost
   * power or its network leaves its TCP connections open for minutes; closing them now fails what
   * waits on them, so leases are retried on live nodes and actor callers ask the GCS again.
   */
  closeNode(nodeIdHex: string): number {
    let closed = 0;
    for (const [key, node] of this.remote) {
      if (node !== nodeIdHex) continue;
      const pending = this.open.get(key);
      this.forget(key, pending);
      pending?.then((c) => c.close()).catch(() => {});
      closed++;
    }
    return closed;
  }

  /**
   * Use `connection` (opened by the peer at `address`, e.g. an owner pushing tasks) for this
   * peer too, unless one is open already: what this process sends the owner then travels in order
   * with its replies (a borrow is registered before the task's reply frees the argument).
   * True when `connection` is now the one for that peer (false: another one was open first).
   */
  adopt(address: tray.v1.IAddress, connection: Connection): boolean {
    const { key } = this.route(address);
    if (this.closed || this.open.has(key) || connection.closed) return false;
    const ready = Promise.resolve(connection);
    this.open.set(key, ready);
    connection.on('close', () => this.forget(key, ready));
    return true;
  }

  /** Close every connection: the requests on them fail with ConnectionClosedError. */
  close(): void {
    this.closed = true;
    const destroy = this.options.destroyOnClose === true;
    for (const pending of this.open.values())
      pending.then((c) => (destroy ? c.destroy() : c.close())).catch(() => {});
    this.open.clear();
    this.remote.clear();
  }

  private forget(key: string, pending: Promise<Connection> | undefined): void {
    if (this.open.get(key) !== pending) return;
    this.open.delete(key);
    this.remote.delete(key);
  }

  /** Where `address` is reached from here, and the key its connection is kept under. */
  private route(address: tray.v1.IAddress): { key: string; target: Target } {
    const sameNode = !address.nodeId?.length || hex(address.nodeId) === this.nodeIdHex;
    const route = addressTarget(address, sameNode);
    if (route === undefined) {
      throw new Error(
        `cannot reach the ${this.kind} at ${JSON.stringify(address)}: it has no socket path or port`,
      );
    }
    return route;
  }
}
