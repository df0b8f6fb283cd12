// Borrows told to their owners (core-worker.ts): when this process starts or stops borrowing an
// object, its owner is sent UpdateBorrowers — batched per owner, once per tick — so the owner
// keeps the object while someone borrows it.
import { CoreWorkerService, type tray } from '@tray/protocol';
import { hex } from './ids.js';
import type { PeerConnections } from './peer-connections.js';
import type { RefEntry } from './reference-counter.js';

/** What telling owners needs of its process (the core worker gives itself). */
export interface BorrowContext {
  readonly address: tray.v1.IAddress;
  readonly peers: PeerConnections;
  readonly isShutDown: boolean;
}

export class BorrowUpdates {
  private readonly borrowUpdates = new Map<
    string,
    { owner: tray.v1.IAddress; add: Buffer[]; remove: Buffer[] }
  >();
  private borrowFlushScheduled = false;

  constructor(private readonly core: BorrowContext) {}

  /** Tell owners (batched per tick) that this process started or stopped borrowing objects. */
  queue(idHex: string, entry: RefEntry, add: boolean): void {
    const owner = entry.ownerAddress;
    if (this.core.isShutDown || !(owner?.socketPath || owner?.port)) return;
    if (add) entry.registeredWithOwner = true;
    const key = hex(owner.workerId ?? new Uint8Array(0));
    let batch = this.borrowUpdates.get(key);
    if (batch === undefined) {
      batch = { owner, add: [], remove: [] };
      this.borrowUpdates.set(key, batch);
    }
    (add ? batch.add : batch.remove).push(Buffer.from(idHex, 'hex'));
    if (!this.borrowFlushScheduled) {
      this.borrowFlushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.borrowFlushScheduled = false;
    const batches = [...this.borrowUpdates.values()];
    this.borrowUpdates.clear();
    for (const b of batches) {
      this.core.peers
        .get(b.owner)
        .then((c) =>
          c.notify(CoreWorkerService.UpdateBorrowers, {
            addObjectIds: b.add,
            removeObjectIds: b.remove,
            borrowerAddress: this.core.address,
          }),
        )
        .catch(() => {});
    }
  }
}
