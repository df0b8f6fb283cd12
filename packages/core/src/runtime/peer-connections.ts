// Framed connections from this process to other core workers (leased workers, owners of
// borrowed objects), one per socket path, opened on first use with the cluster token. Every
// connection, opened here or accepted by this process's server, serves the same
// CoreWorkerService handlers: either end may call the other.
import { type Connection, connect } from '@tray/protocol';

export class PeerConnections {
  private readonly open = new Map<string, Promise<Connection>>();
  private closed = false;

  constructor(
    private readonly token: string,
    private readonly serve: (connection: Connection) => void,
  ) {}

  get(socketPath: string): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error('this tray process is shutting down'));
    let pending = this.open.get(socketPath);
    if (pending === undefined) {
      pending = connect(socketPath, { token: this.token, label: `worker at ${socketPath}` }).then((c) => {
        this.serve(c);
        c.on('close', () => {
          if (this.open.get(socketPath) === pending) this.open.delete(socketPath);
        });
        return c;
      });
      pending.catch(() => {
        if (this.open.get(socketPath) === pending) this.open.delete(socketPath);
      });
      this.open.set(socketPath, pending);
    }
    return pending;
  }

  /**
   * Use `connection` (opened by the peer at `socketPath`, e.g. an owner pushing tasks) for this
   * peer too, unless one is open already: what this process sends the owner then travels in order
   * with its replies (a borrow is registered before the task's reply frees the argument).
   */
  adopt(socketPath: string, connection: Connection): void {
    if (this.closed || this.open.has(socketPath) || connection.closed) return;
    const ready = Promise.resolve(connection);
    this.open.set(socketPath, ready);
    connection.on('close', () => {
      if (this.open.get(socketPath) === ready) this.open.delete(socketPath);
    });
  }

  close(): void {
    this.closed = true;
    for (const pending of this.open.values()) pending.then((c) => c.close()).catch(() => {});
    this.open.clear();
  }
}
