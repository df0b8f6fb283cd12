// Telling owners which of their objects this process borrows (CoreWorkerService.UpdateBorrowers),
// batched per owner per tick. Each batch is a request the owner acknowledges, so:
// - an add whose request fails (connection lost) is sent again, a few times with a growing
//   pause, and one that still fails is reported (the owner is gone: reading the object fails with
//   OwnerDiedError), never dropped silently;
// - a remove goes out only once every add sent before it was acknowledged: a borrower that read a
//   ref out of an object it then drops (a put object, a returned value) cannot end the outer
//   borrow before the owner of the inner ref recorded it;
// - `whenAcknowledged()` tells a worker when the adds made so far are recorded, and it answers the
//   task that made them only then: the caller ends its own hold on the task's arguments after the
//   reply, so a ref forwarded from borrower to borrower is never unaccounted for at its owner.
import { CoreWorkerService, type PeerConnections, type tray } from '@tray/protocol';
import { hex } from './ids.js';
import type { RefEntry } from './reference-counter.js';

/** How often an add is tried before it is given up, and the first pause between tries. */
const ADD_ATTEMPTS = 5;
const FIRST_RETRY_MS = 100;

interface Batch {
  owner: tray.v1.IAddress;
  borrower: tray.v1.IAddress;
  forCaller: boolean;
  add: Buffer[];
  remove: Buffer[];
}

/** What telling owners about borrows needs of its process (the core worker gives itself). */
export interface BorrowContext {
  readonly peers: PeerConnections;
  readonly address: tray.v1.IAddress;
  readonly workerIdHex: string;
  readonly isShutDown: boolean;
  /** The refs this process holds: a discarded value's refs it holds itself stay borrowed. */
  readonly refs: { has(idHex: string): boolean };
}

export class BorrowUpdates {
  private readonly batches = new Map<string, Batch>();
  private flushScheduled = false;
  /** Adds queued or sent and not yet acknowledged (or given up). */
  private unacknowledged = 0;
  private waiters: (() => void)[] = [];
  /** Settles once every add batch sent so far is acknowledged or given up. */
  private addsSettled: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly core: BorrowContext,
    private readonly warn: (message: string) => void,
  ) {}

  /** This process started (add) or stopped borrowing the object `idHex` whose entry is `entry`. */
  borrow(idHex: string, entry: RefEntry, add: boolean): void {
    const owner = entry.ownerAddress;
    if (this.core.isShutDown || !(owner?.socketPath || owner?.port)) return;
    if (add) entry.registeredWithOwner = true;
    this.queue(owner, Buffer.from(idHex, 'hex'), add);
  }

  /**
   * A borrowed ref goes back to `caller` in a task's returned value: register the caller as a
   * borrower with the ref's owner before the reply (which then waits for the acknowledgement), so
   * this process's own remove, sent once it drops the ref, cannot reach the owner first. Unneeded
   * when the caller is the owner: the ref is its own.
   */
  borrowForCaller(id: Uint8Array, entry: RefEntry, caller: tray.v1.IAddress): void {
    const owner = entry.ownerAddress;
    if (this.core.isShutDown || !(owner?.socketPath || owner?.port) || !caller.workerId?.length) return;
    if (owner.workerId?.length && Buffer.compare(owner.workerId, caller.workerId) === 0) return;
    this.queue(owner, Buffer.from(id), true, caller);
  }

  /**
   * A returned value that contains refs reached this process after its ref was dropped: it is
   * discarded, and the borrows its worker registered for this process (borrowForCaller, or the
   * worker's own objects) are ended, except where this process borrows the same ids itself.
   */
  releaseDiscarded(nested: readonly tray.v1.IObjectReference[]): void {
    for (const r of nested) {
      const owner = r.ownerAddress;
      if (!r.objectId?.length || !(owner?.socketPath || owner?.port) || this.core.refs.has(hex(r.objectId)))
        continue;
      if (owner.workerId?.length && hex(owner.workerId) === this.core.workerIdHex) continue;
      this.queue(owner, Buffer.from(r.objectId), false);
    }
  }

  /**
   * Queue `add` (or remove) of object `id` of the owner at `owner`, borrowed by this process, or
   * by `forCaller`: the caller a worker returns the ref to (it registers the caller first).
   */
  queue(owner: tray.v1.IAddress, id: Buffer, add: boolean, forCaller?: tray.v1.IAddress): void {
    if (this.closed) return;
    const borrower = forCaller ?? this.core.address;
    const key = `${hex(owner.workerId ?? EMPTY)}|${forCaller ? hex(forCaller.workerId ?? EMPTY) : ''}`;
    let batch = this.batches.get(key);
    if (batch === undefined) {
      batch = { owner, borrower, forCaller: forCaller !== undefined, add: [], remove: [] };
      this.batches.set(key, batch);
    }
    if (add) {
      batch.add.push(id);
      this.unacknowledged++;
    } else batch.remove.push(id);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Undefined when every add is acknowledged; else a promise that resolves once they are. */
  whenAcknowledged(): Promise<void> | undefined {
    if (this.unacknowledged === 0) return undefined;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.batches.clear();
    this.settle(this.unacknowledged); // nobody waits on a shut-down process's borrows
  }

  private flush(): void {
    this.flushScheduled = false;
    const batches = [...this.batches.values()];
    this.batches.clear();
    const adds: Promise<void>[] = [];
    for (const b of batches) if (b.add.length > 0) adds.push(this.sendAdds(b));
    if (adds.length > 0) this.addsSettled = Promise.all([this.addsSettled, ...adds]);
    const removes = batches.filter((b) => b.remove.length > 0);
    if (removes.length === 0) return;
    // After every add sent so far (those of this flush included).
    this.addsSettled.then(() => {
      for (const b of removes) void this.send(b, [], b.remove).catch(() => {});
    });
  }

  private async sendAdds(b: Batch): Promise<void> {
    let pause = FIRST_RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.send(b, b.add, []);
        break;
      } catch (err) {
        if (this.closed) break;
        if (attempt === ADD_ATTEMPTS) {
          this.warn(
            `tray: could not register ${b.add.length} borrowed object(s) (${hex(b.add[0]!)}…) with ` +
              `their owner at ${describe(b.owner)} after ${ADD_ATTEMPTS} tries (${(err as Error).message}); ` +
              'the owner is gone, so reading them fails with OwnerDiedError',
          );
          break;
        }
        await new Promise((r) => setTimeout(r, pause).unref());
        pause *= 2;
      }
    }
    this.settle(b.add.length);
  }

  private async send(b: Batch, add: Buffer[], remove: Buffer[]): Promise<void> {
    const connection = await this.core.peers.get(b.owner);
    await connection.request(CoreWorkerService.UpdateBorrowers, {
      addObjectIds: add,
      removeObjectIds: remove,
      borrowerAddress: b.borrower,
      forCaller: b.forCaller,
    });
  }

  private settle(n: number): void {
    this.unacknowledged = Math.max(0, this.unacknowledged - n);
    if (this.unacknowledged > 0 || this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

const EMPTY = new Uint8Array(0);

function describe(a: tray.v1.IAddress): string {
  return a.port ? `${a.ip}:${a.port}` : (a.socketPath ?? 'an unknown address');
}
