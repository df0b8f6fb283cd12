// Reference counting (Ray's ownership model, on one node). For every object this process knows
// it counts local refs (live ObjectRef instances; garbage-collected ones count as dropped),
// refs held by pending tasks it submitted, the owned objects whose values contain it, and —
// for objects it owns — the processes borrowing it. An owned object whose counts all reach zero
// is freed (memory store and shared store); a borrowed one tells its owner the borrow is over.
// An actor's handles are counted the same way, under an id of their own (actor/actor-runtime.ts).
import type { tray } from '@tray/protocol';

/**
 * One object's counts. The rarely set fields are left out of a new entry rather than set to
 * undefined: an entry is made for every task return and put, and five fields (64 bytes) instead
 * of ten (104) is 40 MB less for a million pending tasks; the few entries that get one grow.
 */
export interface RefEntry {
  owned: boolean;
  ownerAddress: tray.v1.IAddress | undefined;
  local: number;
  submitted: number;
  containedIn: number;
  /** Owned objects: worker ids (hex) of the processes borrowing it (made at the first borrower). */
  borrowers?: Set<string>;
  /** Ids of the refs nested inside this object's value (made at the first one). */
  contains?: string[];
  /** Borrowed objects: the owner was told about this process's borrow. */
  registeredWithOwner?: boolean;
  /**
   * Owned entries that stand for something other than a stored object (an actor's handles):
   * what to do instead of freeing a value once the last reference is gone.
   */
  onFree?: () => void;
  /** Where the user made this ref (call-sites.ts); only with TRAY_RECORD_REF_CREATION_SITES=1. */
  callSite?: string;
}

export interface ReferenceHooks {
  /** An owned object's last reference went away: free its value. */
  freeOwned(idHex: string, entry: RefEntry): void;
  /** A borrowed object is referenced here for the first time. */
  borrowStarted(idHex: string, entry: RefEntry): void;
  /** This process no longer references a borrowed object. */
  borrowEnded(idHex: string, entry: RefEntry): void;
}

export class ReferenceCounter {
  private readonly table = new Map<string, RefEntry>();

  constructor(
    private readonly hooks: ReferenceHooks,
    private readonly isMine: (owner: tray.v1.IAddress | undefined) => boolean,
  ) {}

  get size(): number {
    return this.table.size;
  }

  get(idHex: string): RefEntry | undefined {
    return this.table.get(idHex);
  }

  /** Every entry (the state API's reference table). */
  entries(): IterableIterator<[string, RefEntry]> {
    return this.table.entries();
  }

  has(idHex: string): boolean {
    return this.table.has(idHex);
  }

  /** This process owns an object (or an actor's handles) that is still referenced. */
  ownsObjects(): boolean {
    for (const entry of this.table.values()) if (entry.owned) return true;
    return false;
  }

  /** Starts tracking an object this process owns (a task's return or a put). */
  addOwned(idHex: string, ownerAddress: tray.v1.IAddress): RefEntry {
    let entry = this.table.get(idHex);
    if (entry === undefined) {
      entry = newEntry(true, ownerAddress);
      this.table.set(idHex, entry);
    }
    return entry;
  }

  /** Records where the user made an owned ref (call-sites.ts). */
  setCallSite(idHex: string, site: string): void {
    const entry = this.table.get(idHex);
    if (entry !== undefined) entry.callSite = site;
  }

  private entryFor(idHex: string, owner: tray.v1.IAddress | undefined): RefEntry {
    let entry = this.table.get(idHex);
    if (entry === undefined) {
      entry = newEntry(this.isMine(owner), owner);
      this.table.set(idHex, entry);
      if (!entry.owned) this.hooks.borrowStarted(idHex, entry);
    }
    return entry;
  }

  addLocalRef(idHex: string, owner: tray.v1.IAddress | undefined): void {
    this.entryFor(idHex, owner).local++;
  }

  removeLocalRef(idHex: string): void {
    const entry = this.table.get(idHex);
    if (entry === undefined) return;
    entry.local--;
    this.release(idHex, entry);
  }

  addSubmitted(ids: Iterable<[string, tray.v1.IAddress | undefined]>): void {
    for (const [idHex, owner] of ids) this.entryFor(idHex, owner).submitted++;
  }

  removeSubmitted(ids: Iterable<string>): void {
    for (const idHex of ids) {
      const entry = this.table.get(idHex);
      if (entry === undefined) continue;
      entry.submitted--;
      this.release(idHex, entry);
    }
  }

  /** `outer`'s value contains `inner` refs: they live at least as long as `outer`. */
  addContained(outerHex: string, inner: Iterable<[string, tray.v1.IAddress | undefined]>): void {
    const outer = this.table.get(outerHex);
    if (outer === undefined) return;
    for (const [idHex, owner] of inner) {
      this.entryFor(idHex, owner).containedIn++;
      (outer.contains ??= []).push(idHex);
    }
  }

  addBorrower(idHex: string, borrower: string): void {
    const entry = this.table.get(idHex);
    if (entry?.owned) (entry.borrowers ??= new Set()).add(borrower);
  }

  removeBorrower(idHex: string, borrower: string): void {
    const entry = this.table.get(idHex);
    if (entry === undefined || entry.borrowers?.delete(borrower) !== true) return;
    this.release(idHex, entry);
  }

  /** Every borrower of this process's objects that lives at `borrower` is gone. */
  removeBorrowerEverywhere(borrower: string): void {
    for (const [idHex, entry] of this.table) {
      if (entry.borrowers?.delete(borrower) === true) this.release(idHex, entry);
    }
  }

  private release(idHex: string, entry: RefEntry): void {
    if (
      entry.local > 0 ||
      entry.submitted > 0 ||
      entry.containedIn > 0 ||
      (entry.borrowers !== undefined && entry.borrowers.size > 0)
    )
      return;
    this.table.delete(idHex);
    if (entry.owned) this.hooks.freeOwned(idHex, entry);
    else this.hooks.borrowEnded(idHex, entry);
    if (entry.contains === undefined) return;
    for (const inner of entry.contains) {
      const e = this.table.get(inner);
      if (e === undefined) continue;
      e.containedIn--;
      this.release(inner, e);
    }
  }
}

function newEntry(owned: boolean, ownerAddress: tray.v1.IAddress | undefined): RefEntry {
  return { owned, ownerAddress, local: 0, submitted: 0, containedIn: 0 };
}
