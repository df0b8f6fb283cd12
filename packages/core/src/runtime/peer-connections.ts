// Connections to other tray processes (owners, leased workers, actors; other nodes' raylets),
// one per peer and shared by everything this process sends it. A peer on this node is reached
// over its Unix socket; a peer on another node over TCP at its address's ip and port (every
// core worker listens on both, core-worker.ts; raylets too).
import { addressTarget, type Connection, connect, type Target, type tray } from '@tray/protocol';
import { hex } from './ids.js';

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
  ) {}

  /** The connection to the process at `address` (opened on first use). */
  get(address: tray.v1.IAddress): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error('this tray process is shutting down'));
    const { key, target } = this.route(address);
    let pending = this.open.get(key);
    if (pending === undefined) {
      pending = connect(target, { token: this.token, label: `${this.kind} at ${key}` }).then((c) => {
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

  private forget(key: string, pending: Promise<Connection> | undefined): void {
    if (this.open.get(key) !== pending) return;
    this.open.delete(key);
    this.remote.delete(key);
  }

  /**
   * Use `connection` (opened by the peer at `address`, e.g. an owner pushing tasks) for this
   * peer too, unless one is open already: what this process sends the owner then travels in order
   * with its replies (a borrow is registered before the task's reply frees the argument).
   */
  adopt(address: tray.v1.IAddress, connection: Connection): void {
    const { key } = this.route(address);
    if (this.closed || this.open.has(key) || connection.closed) return;
    const ready = Promise.resolve(connection);
    this.open.set(key, ready);
    connection.on('close', () => this.forget(key, ready));
  }

  close(): void {
    this.closed = true;
    for (const pending of this.open.values()) pending.then((c) => c.close()).catch(() => {});
    this.open.clear();
    this.remote.clear();
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
