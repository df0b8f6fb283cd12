// Owners of non-detached actors, watched the way Ray's GCS does: one framed connection to each
// owner's CoreWorkerService socket, kept open while it owns actors. The connection closing (or
// never opening) means the owner process is gone, and its actors must die with it.
import { addressTarget, type Connection, connect, type tray } from '@tray/protocol';

export class OwnerWatch {
  private readonly owners = new Map<string, Promise<Connection | undefined>>();
  private closed = false;

  constructor(
    private readonly token: string,
    /** The owner at this address is gone. */
    private readonly ownerDied: (owner: tray.v1.IAddress) => void,
  ) {}

  /** Start watching the owner (idempotent); resolves false when it is gone already. */
  async watch(owner: tray.v1.IAddress | null | undefined): Promise<boolean> {
    const peer = addressTarget(owner, false);
    if (peer === undefined || this.closed) return true;
    const key = peer.key;
    let watching = this.owners.get(key);
    if (watching === undefined) {
      watching = connect(peer.target, { token: this.token, label: 'actor owner' }).then(
        (connection) => {
          connection.once('close', () => {
            this.owners.delete(key);
            if (!this.closed) this.ownerDied(owner!);
          });
          return connection;
        },
        () => {
          this.owners.delete(key);
          return undefined;
        },
      );
      this.owners.set(key, watching);
    }
    return (await watching) !== undefined;
  }

  close(): void {
    this.closed = true;
    for (const watching of this.owners.values()) void watching.then((c) => c?.close());
    this.owners.clear();
  }
}
