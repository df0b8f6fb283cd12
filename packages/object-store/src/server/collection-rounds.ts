// CollectionRounds: what the store does before it refuses a create or a restore for lack of
// room. Memory is often pinned only by views that their program dropped and its garbage
// collector has not collected yet (a view pins its object until it is collected); the store
// asks every client to collect garbage (StoreService.CollectGarbage, store -> client), applies
// the Releases that freed, and tries once more. Ray does the same with its GlobalGC/LocalGC.
//
// One round at a time: requests that run out of room while a round is under way share it. A
// client that does not answer within the deadline (busy in synchronous code) is not waited for
// longer; its Releases are applied whenever they arrive.
//
// A round that gave back something but not enough is followed by one more before the request
// is refused: what a collection frees can make more collectable (a FinalizationRegistry holding
// a view until another view is collected; cleanup that runs late). A round that gave back
// nothing, or a second one that did not help, starts a quiet period (`quietMs`, default 1 s;
// not when a client failed to answer in time, as its Releases may still come):
// until it ends, a request that finds no room is refused at once without asking anyone, so a
// store full of live objects does not make every client run a full GC on every create (Ray
// rate-limits its GC rounds the same way, local_gc_min_interval_s).
//
// A large create that fits may wait for a round too: when it would go to memory the store never
// used while objects as large are read, perhaps only by views nobody can reach
// (roundBeforeFresh). A program that puts and reads one large object after another (`const v =
// await get(await put(x))` in a loop) keeps the last view reachable until the next one
// replaces it, so without the round every third put found the store's warm memory pinned and
// faulted in fresh pages: 3 of 6 rounds of tools/bench/put-get.mjs, 550 ms each for 800 MB
// against a 50 ms copy.
import { type Connection, StoreService } from '@tray/protocol';
import { ObjectStoreFullError } from '../errors.js';

/** How long a round waits for the slowest client's answer. */
export const COLLECT_ANSWER_TIMEOUT_MS = 5_000;

/** Creates from this size on may wait for a round before they go to fresh memory. */
export const FRESH_ROUND_FROM = 64 * 1024 * 1024;

/** A request that finds no room in the quiet period after a fruitless round. */
export const DEFAULT_COLLECTION_QUIET_MS = 1_000;

export class CollectionRounds {
  private readonly clients = new Set<Connection>();
  private round: Promise<void> | undefined;
  private completed = 0;
  /** Objects given back (Release) so far: a round that moved it freed something. */
  private releases = 0;
  /** Until then (Date.now()), a request without room is refused without a round. */
  private quietUntil = 0;
  /** The last round had every client's answer (none timed out: no Releases still to come). */
  private everyoneAnswered = true;

  constructor(private readonly quietMs = DEFAULT_COLLECTION_QUIET_MS) {}

  add(connection: Connection): void {
    this.clients.add(connection);
    connection.once('close', () => this.clients.delete(connection));
  }

  /** Rounds run so far (stats and tests). */
  get rounds(): number {
    return this.completed;
  }

  /** A client gave back `count` object references. */
  released(count: number): void {
    this.releases += count;
  }

  /** Every client collects garbage; resolves when all answered, failed, or timed out. */
  collect(): Promise<void> {
    if (this.round) return this.round;
    const asked = [...this.clients].map((c) =>
      c.request(StoreService.CollectGarbage, {}, { timeoutMs: COLLECT_ANSWER_TIMEOUT_MS }),
    );
    this.round = Promise.allSettled(asked).then((answers) => {
      this.round = undefined;
      this.completed++;
      this.everyoneAnswered = answers.every((a) => a.status === 'fulfilled');
    });
    return this.round;
  }

  /**
   * Whether a create of `bytes` should wait for a round (collect()) first, though it fits: it
   * would go to memory the store never used (`fresh`: each page of it costs a fault that
   * allocates and zeroes it, ~0.7 ms per MiB here, several times the copy), while objects of at
   * least its size are read: views a program dropped pin them until its collector runs, and the
   * collection also lets their owners delete those whose refs it dropped. A round (a few ms) may
   * then give that warm memory back first. Only for creates of FRESH_ROUND_FROM bytes or more,
   * and with no quiet period: a round that gives nothing back is followed by a create that takes
   * at least that much fresh memory, so such rounds number at most capacity / FRESH_ROUND_FROM
   * over the store's life.
   */
  roundBeforeFresh(bytes: number, fresh: boolean, readBytes: number): boolean {
    return fresh && bytes >= FRESH_ROUND_FROM && readBytes >= bytes && this.clients.size > 0;
  }

  /**
   * `attempt()`, or when it throws ObjectStoreFullError: a round of collection and `attempt()`
   * once more — twice when the round freed too little (see the header); in the quiet period
   * after a fruitless round, the error at once. The last error is the caller's.
   */
  withRoom<T>(attempt: () => T | Promise<T>): T | Promise<T> {
    try {
      return attempt();
    } catch (err) {
      if (!(err instanceof ObjectStoreFullError) || this.clients.size === 0) throw err;
      if (this.round === undefined && Date.now() < this.quietUntil) throw err;
      return this.collectAndRetry(attempt);
    }
  }

  private async collectAndRetry<T>(attempt: () => T | Promise<T>): Promise<T> {
    for (let round = 1; ; round++) {
      const before = this.releases;
      await this.collect();
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof ObjectStoreFullError)) throw err;
        if (round === 1 && this.releases > before) continue; // freed too little: once more
        // Quiet only when nothing more can come: a client that did not answer may still free.
        if (this.everyoneAnswered) this.quietUntil = Date.now() + this.quietMs;
        throw err;
      }
    }
  }
}
