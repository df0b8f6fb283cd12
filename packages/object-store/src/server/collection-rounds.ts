// CollectionRounds: what the store does before it refuses a create or a restore for lack of
// room. Memory is often pinned only by views that their program dropped and its garbage
// collector has not collected yet (a view pins its object until it is collected); the store
// asks every client to collect garbage (StoreService.CollectGarbage, store -> client), applies
// the Releases that freed, and tries once more. Ray does the same with its GlobalGC/LocalGC.
//
// One round at a time: requests that run out of room while a round is under way share it. A
// client that does not answer within the deadline (busy in synchronous code) is not waited for
// longer; its Releases are applied whenever they arrive.
import { type Connection, StoreService } from '@tray/protocol';
import { ObjectStoreFullError } from '../errors.js';

/** How long a round waits for the slowest client's answer. */
export const COLLECT_ANSWER_TIMEOUT_MS = 5_000;

export class CollectionRounds {
  private readonly clients = new Set<Connection>();
  private round: Promise<void> | undefined;
  private completed = 0;

  add(connection: Connection): void {
    this.clients.add(connection);
    connection.once('close', () => this.clients.delete(connection));
  }

  /** Rounds run so far (stats and tests). */
  get rounds(): number {
    return this.completed;
  }

  /** Every client collects garbage; resolves when all answered, failed, or timed out. */
  collect(): Promise<void> {
    if (this.round) return this.round;
    const asked = [...this.clients].map((c) =>
      c.request(StoreService.CollectGarbage, {}, { timeoutMs: COLLECT_ANSWER_TIMEOUT_MS }),
    );
    this.round = Promise.allSettled(asked).then(() => {
      this.round = undefined;
      this.completed++;
    });
    return this.round;
  }

  /**
   * `attempt()`, or when it throws ObjectStoreFullError: a round of collection, then
   * `attempt()` once more (whose error, if it fails again, is the caller's).
   */
  withRoom<T>(attempt: () => T | Promise<T>): T | Promise<T> {
    try {
      return attempt();
    } catch (err) {
      if (!(err instanceof ObjectStoreFullError) || this.clients.size === 0) throw err;
      return this.collect().then(attempt);
    }
  }
}
