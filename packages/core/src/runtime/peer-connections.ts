// Connections to other tray processes (owners, leased workers, actors; other nodes' raylets),
// one per peer and shared by everything this process sends it. A peer on this node is reached
// over its Unix socket; a peer on another node over TCP at its address's ip and port (every
// core worker listens on both, core-worker.ts; raylets too).
import { addressTarget, type Connection, connect, type Target, type tray } from '@tray/protocol';
import { hex } from './ids.js';

export class PeerConnections {
  private readonly open = new Map<string, Promise<Connection>>();
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
        c.on('close', () => {
          if (this.open.get(key) === pending) this.open.delete(key);
        });
        return c;
      });
      pending.catch(() => {
        if (this.open.get(key) === pending) this.open.delete(key);
      });
      this.open.set(key, pending);
    }
    return pending;
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
    connection.on('close', () => {
      if (this.open.get(key) === ready) this.open.delete(key);
    });
  }

  close(): void {
    this.closed = true;
    for (const pending of this.open.values()) pending.then((c) => c.close()).catch(() => {});
    this.open.clear();
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
