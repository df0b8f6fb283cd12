// The coordinator of streamingSplit(n): an actor between one streaming execution (the driver
// offers it each block as the executor makes it) and n consumers, which may be in other
// processes (each calls next(split) for its next block). It holds a bounded buffer: offer()
// returns only once there is room, so the execution runs at the consumers' pace.
//
// With equal, every split gets the same number of rows (Ray's OutputSplitter semantics): a
// split takes a whole block only while that keeps it within one block of the split with the
// fewest rows, and (n - 1) blocks' worth of rows stay buffered until the input ends; then the
// buffer is cut (block row ranges) so every split reaches floor(total / n). At most n - 1 rows
// are dropped.
//
// A ref held here pins its block in the store until V8 collects it (core counts references
// with a FinalizationRegistry), and this actor's small heap gives V8 no reason to: so it
// collects after every few blocks it hands out, and a consumed block's store memory comes back.
import type { ObjectRef } from '@tray/core';
import type { BlockMeta } from '../block.js';
import { collectSoon } from '../exec/collect.js';

interface Buffered {
  block: ObjectRef<Uint8Array>;
  meta: BlockMeta;
  /** The driver's number for the block (offer order). */
  seq?: number;
}

/** What a consumer gets: a block, or rows [start, end) of it. */
export interface SplitItem extends Buffered {
  range?: [number, number];
}

/** Blocks handed out between two garbage collections of this actor's heap. */
const COLLECT_EVERY = 4;

export class SplitCoordinator {
  private readonly n: number;
  private readonly equal: boolean;
  private readonly buffer: Buffered[] = [];
  private bufferedRows = 0;
  private readonly given: number[];
  /** Rows of the largest block seen: the slack allowed between splits. */
  private blockRows = 0;
  private done = false;
  private error: string | undefined;
  private final: SplitItem[][] | undefined;
  private ended = new Set<number>();
  private handedOut = 0;
  private waiters: (() => void)[] = [];
  private start: (() => void) | undefined;
  private readonly begun = new Promise<void>((resolve) => {
    this.start = resolve;
  });

  /** Given at creation, so they are set before any consumer's call arrives. */
  constructor(n: number, equal: boolean) {
    this.n = n;
    this.equal = equal;
    this.given = new Array(n).fill(0);
    this.out = Array.from({ length: n }, () => []);
  }

  /** Resolves when the first consumer asks: the driver starts the execution then. */
  async started(): Promise<true> {
    await this.begun;
    return true;
  }

  /** Blocks consumed whole (their last piece) since the driver last heard: their seqs. */
  private gone: number[] = [];
  /** Pieces of a block (by seq) not yet consumed, once the buffer is cut into ranges. */
  private pieces = new Map<number, number>();
  /**
   * Per split, the seqs of the pieces handed out and maybe still in use. A split iterator asks
   * for its next item before it uses the one it got (one ahead): when it asks again, all but
   * the last item handed to it are consumed.
   */
  private readonly out: number[][];

  /**
   * A block from the execution (`seq`: the driver's number for it); returns once the buffer has
   * room for another, with the seqs of the blocks consumed since the last reply (the driver
   * counts a block against its operator until then).
   */
  async offer(item: Buffered, seq: number): Promise<number[]> {
    if (!Number.isInteger(seq) || seq < 0)
      throw new TypeError(`SplitCoordinator.offer: seq must be a whole number, got ${String(seq)}`);
    this.buffer.push({ block: item.block, meta: item.meta, seq });
    this.bufferedRows += item.meta.numRows;
    this.blockRows = Math.max(this.blockRows, item.meta.numRows);
    this.wake();
    while (!this.done && this.error === undefined && !this.hasRoom()) await this.changed();
    return this.gone.splice(0);
  }

  /** The execution ended (with an error's message if it failed); the seqs consumed since. */
  finish(error?: string): number[] {
    this.done = true;
    this.error = error;
    this.wake();
    return this.gone.splice(0);
  }

  /** The next block of `split`, or null once its part of the dataset is done. */
  async next(split: number): Promise<SplitItem | null> {
    if (!(Number.isInteger(split) && split >= 0 && split < this.n))
      throw new RangeError(`streamingSplit: no split ${split}; there are ${this.n}`);
    this.start?.();
    const mine = this.out[split]!;
    while (mine.length > 1) this.consumed(mine.shift()!);
    for (;;) {
      if (this.error !== undefined) throw new Error(this.error);
      const item = this.take(split);
      if (item !== undefined) {
        if (item !== null && ++this.handedOut % COLLECT_EVERY === 0) collectSoon();
        this.wake();
        if (item === null) {
          this.ended.add(split);
          for (const seq of mine.splice(0)) this.consumed(seq);
        } else mine.push(item.seq!);
        return item;
      }
      await this.changed();
    }
  }

  /** Resolves once every split has been told its end (the driver then kills the actor). */
  async drained(): Promise<true> {
    while (this.ended.size < this.n && this.error === undefined) await this.changed();
    return true;
  }

  /** An item for `split`, null at its end, undefined when it must wait. */
  private take(split: number): SplitItem | null | undefined {
    if (this.final !== undefined) {
      return this.final[split]!.shift() ?? null;
    }
    const head = this.buffer[0];
    if (!this.equal) {
      if (head !== undefined) return this.shift(split);
      return this.done ? null : undefined;
    }
    if (this.done) {
      this.final = this.equalize();
      return this.take(split);
    }
    if (head === undefined) return undefined;
    const fewest = Math.min(...this.given);
    const keeps = this.bufferedRows - head.meta.numRows >= (this.n - 1) * this.blockRows;
    if (keeps && this.given[split]! + head.meta.numRows <= fewest + this.blockRows) return this.shift(split);
    return undefined;
  }

  private shift(split: number): SplitItem {
    const item = this.buffer.shift()!;
    this.bufferedRows -= item.meta.numRows;
    this.given[split]! += item.meta.numRows;
    return item;
  }

  /** The buffer cut into row ranges that bring every split to floor(total / n) rows. */
  private equalize(): SplitItem[][] {
    const total = this.given.reduce((s, g) => s + g, 0) + this.bufferedRows;
    const target = Math.floor(total / this.n);
    const out: SplitItem[][] = this.given.map(() => []);
    let b = 0;
    let offset = 0;
    for (let split = 0; split < this.n; split++) {
      let need = Math.max(0, target - this.given[split]!);
      while (need > 0 && b < this.buffer.length) {
        const item = this.buffer[b]!;
        const take = Math.min(need, item.meta.numRows - offset);
        const whole = offset === 0 && take === item.meta.numRows;
        const sizeBytes = Math.ceil((item.meta.sizeBytes * take) / Math.max(1, item.meta.numRows));
        out[split]!.push(
          whole
            ? item
            : { ...item, meta: { ...item.meta, numRows: take, sizeBytes }, range: [offset, offset + take] },
        );
        need -= take;
        offset += take;
        if (offset >= item.meta.numRows) {
          b++;
          offset = 0;
        }
      }
    }
    // Blocks given to nobody (the rows dropped to keep the splits equal) are gone now.
    for (const item of this.buffer) {
      const n = out.reduce((c, items) => c + items.filter((i) => i.seq === item.seq).length, 0);
      if (n > 0) this.pieces.set(item.seq!, n);
      else this.gone.push(item.seq!);
    }
    this.buffer.length = 0;
    this.bufferedRows = 0;
    return out;
  }

  /** A piece of block `seq` was consumed; the block is gone with its last piece. */
  private consumed(seq: number): void {
    const left = (this.pieces.get(seq) ?? 1) - 1;
    if (left > 0) this.pieces.set(seq, left);
    else {
      this.pieces.delete(seq);
      this.gone.push(seq);
    }
  }

  /** Room for one more block: at most (n - 1) blocks kept back plus n to hand out. */
  private hasRoom(): boolean {
    const keep = this.equal ? (this.n - 1) * this.blockRows : 0;
    return this.buffer.length === 0 || this.bufferedRows < keep + this.n * this.blockRows;
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
