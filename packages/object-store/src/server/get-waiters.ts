// GetWaiters: gets that wait for objects not sealed yet. A waiter holds the reply being built
// for one Get request; seal() of an id it waits for fills that slot (taking the reference for
// the waiting client); the deadline or a disconnect ends it. Everything is indexed by id, so
// a seal only visits the waiters of that id.
import type { tray } from '@tray/protocol';
import { idKey } from '../validate.js';

type Location = tray.v1.IStoreObjectLocation;

export interface Waiter {
  readonly client: number;
  readonly objects: Location[];
  /** Slots still missing, by id key (an id asked twice has two slots). */
  readonly missing: Map<string, number[]>;
  readonly resolve: (objects: Location[]) => void;
  timer: NodeJS.Timeout | undefined;
}

export class GetWaiters {
  private readonly byId = new Map<string, Set<Waiter>>();
  private readonly byClient = new Map<number, Set<Waiter>>();

  add(waiter: Waiter, timeoutMs: number): void {
    for (const key of waiter.missing.keys()) {
      let set = this.byId.get(key);
      if (!set) this.byId.set(key, (set = new Set()));
      set.add(waiter);
    }
    let own = this.byClient.get(waiter.client);
    if (!own) this.byClient.set(waiter.client, (own = new Set()));
    own.add(waiter);
    if (timeoutMs >= 0) waiter.timer = setTimeout(() => this.finish(waiter), timeoutMs);
  }

  /**
   * An object was sealed: `take(client)` gets it for each waiting client (a location, or
   * undefined if it went away meanwhile); waiters with nothing left missing are answered.
   */
  sealed(id: Uint8Array, take: (client: number) => Location | undefined): void {
    const key = idKey(id);
    const set = this.byId.get(key);
    if (!set) return;
    this.byId.delete(key);
    for (const waiter of set) {
      const slots = waiter.missing.get(key);
      if (!slots) continue;
      waiter.missing.delete(key);
      for (const slot of slots) {
        const location = take(waiter.client);
        if (location) waiter.objects[slot] = location;
      }
      if (waiter.missing.size === 0) this.finish(waiter);
    }
  }

  /** The client went away: drop its waiters without answering (nobody is listening). */
  dropClient(client: number): void {
    const own = this.byClient.get(client);
    if (!own) return;
    this.byClient.delete(client);
    for (const waiter of own) this.detach(waiter);
  }

  close(): void {
    for (const client of [...this.byClient.keys()]) {
      for (const waiter of this.byClient.get(client) ?? []) this.finish(waiter);
    }
  }

  private detach(waiter: Waiter): void {
    if (waiter.timer) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    for (const key of waiter.missing.keys()) {
      const set = this.byId.get(key);
      set?.delete(waiter);
      if (set?.size === 0) this.byId.delete(key);
    }
    const own = this.byClient.get(waiter.client);
    own?.delete(waiter);
    if (own?.size === 0) this.byClient.delete(waiter.client);
  }

  private finish(waiter: Waiter): void {
    this.detach(waiter);
    waiter.resolve(waiter.objects);
  }
}
