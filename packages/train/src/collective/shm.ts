// The same-node path of the collectives: when every member of a group is on one node, large
// tensors move through one shared region per group instead of the TCP mesh. The region holds a
// slot per rank and a result area, each `slotBytes`; it is made by rank 0 the first time a
// tensor needs it and made anew (larger) when a larger tensor comes, mapped once by every member
// and reused by every later call, so its pages are warm after the first. Its file is unlinked as
// soon as every member has mapped it: nothing is left under /dev/shm however members die later.
// Until then its name carries rank 0's pid (tray-coll-<pid>-<key>-<generation>): a member still
// alive removes it when the group fails, and when every member died in that window the next node
// start's stale sweep (@tray/raylet's stale-files.ts) removes it as it does a dead store's segment.
// The members signal each other over their TCP connections with empty frames (signal()), so a
// member that dies at any point fails the others as the TCP path does (its connection closes):
// nobody waits on the region itself.
//   every op:   S0 (everyone is done with the previous op's region, and passes the same length)
//   allReduce:  copy the parts the others reduce into slot r · S1 · reduce part r of every rank's
//               tensor (rank order; its own from the input) into the result area and the result
//               in one pass · S2 · copy the others' parts of the result area out. Parts split the
//               arithmetic n ways. Per member, of a tensor of S bytes on 2 members: S/2 copied in,
//               S read and S written by the reduce, S/2 copied out: 2S read and 2S written, twice
//               what a memcpy of S moves (the least a scheme through a shared staging area can:
//               each member's input and result are private, so the peer's half must be written
//               to shared memory and read back, and the reduced half likewise).
//   reduceScatter: the others' parts into the slot · S1 · reduce part r into the output.  broadcast: the source's slot · S1 ·
//   copy it out.  allGather: slot · S1 · copy every slot out.
import { createHash } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import path from 'node:path';
import { fallbackDir, SHM_DIR, SharedFile, sharedFileDir } from '@tray/object-store';
import { partOffsets, reduceAll } from './reduce.js';
import type { ReduceOp, Tensor } from './types.js';
import type { OpKind } from './wire.js';

/** Step numbers of the region's signals, in the order sent (a peer checks they increase). */
const S0 = 0x40000000;
const GROW_CREATED = S0 + 1;
const GROW_MAPPED = S0 + 2;
const S1 = S0 + 3;
const S2 = S0 + 4;
const PAGE = 4096;

/** An exchange of empty frames with every other member at `step` of operation `seq`. */
export type Signal = (seq: number, kind: OpKind, t: Tensor | undefined, step: number) => Promise<void>;

export class ShmRegion {
  private file: SharedFile | undefined;
  /** One view of the whole region, per generation; the slots are typed arrays over it. */
  private whole: ArrayBuffer | undefined;
  private slotBytes = 0;
  private generation = 0;
  /** The file of a generation being made (unlinked on failure: it may still have its name). */
  private making: string | undefined;

  constructor(
    private readonly rank: number,
    private readonly worldSize: number,
    /** Unique per group (a hash of its name and secret), so members find the same file. */
    private readonly key: string,
    /** Rank 0's process id, which makes the file: in its name, so a node's stale sweep removes it once that process is gone. */
    private readonly creatorPid: number,
    private readonly signal: Signal,
  ) {}

  static keyOf(name: string, secret: Uint8Array): string {
    return createHash('sha256').update(name).update(secret).digest('hex').slice(0, 24);
  }

  /** The bytes the region takes now (0 before the first use). */
  get bytes(): number {
    return this.file?.bytes ?? 0;
  }

  private fileName(generation: number): string {
    return `tray-coll-${this.creatorPid}-${this.key}-${generation}`;
  }

  /** S0, then a larger region when `t` does not fit a slot (every member decides the same: S0 checked the length). */
  private async begin(seq: number, kind: OpKind, t: Tensor, synced: boolean): Promise<void> {
    // synced: same-node.ts's X0 just passed, which stands for S0.
    if (!synced) await this.signal(seq, kind, t, S0);
    if (t.byteLength <= this.slotBytes && this.file !== undefined) return;
    const slotBytes = Math.max(PAGE, Math.ceil(t.byteLength / PAGE) * PAGE);
    const bytes = slotBytes * (this.worldSize + 1);
    const generation = this.generation + 1;
    const name = this.fileName(generation);
    let next: SharedFile;
    if (this.rank === 0) {
      const file = path.join(sharedFileDir(bytes), name);
      this.making = file;
      next = SharedFile.create(file, bytes);
      await this.signal(seq, kind, t, GROW_CREATED);
      await this.signal(seq, kind, t, GROW_MAPPED);
      next.unlink();
    } else {
      await this.signal(seq, kind, t, GROW_CREATED);
      this.making = path.join(SHM_DIR, name);
      try {
        next = SharedFile.open(this.making, bytes);
      } catch {
        this.making = path.join(fallbackDir(), name);
        next = SharedFile.open(this.making, bytes);
      }
      await this.signal(seq, kind, t, GROW_MAPPED);
    }
    this.making = undefined;
    this.file?.close();
    this.file = next;
    this.whole = next.window(0, bytes);
    this.slotBytes = slotBytes;
    this.generation = generation;
  }

  /** A view of `length` elements of slot `r` (r = worldSize: the result area) as `t`'s type. */
  private view<T extends Tensor>(t: T, r: number, length: number): T {
    const at = r * this.slotBytes;
    return (
      t instanceof Float32Array
        ? new Float32Array(this.whole!, at, length)
        : new Float64Array(this.whole!, at, length)
    ) as T;
  }

  /**
   * Reduces part [a, b) of every rank's tensor into `acc`, in rank order (the TCP path's order):
   * this rank's own part straight from `t` (it never wrote it into its slot), the others' from
   * their slots; `also` gets the values in the same pass (it may be `t`'s part itself).
   */
  private reducePart<T extends Tensor>(t: T, op: ReduceOp, a: number, b: number, acc: T, also?: T): void {
    const inputs: Tensor[] = [];
    for (let r = 0; r < this.worldSize; r++) {
      inputs.push((r === this.rank ? t : this.view(t, r, t.length)).subarray(a, b));
    }
    reduceAll(op, acc, inputs, also);
  }

  /** Copies the parts of `t` the other ranks reduce into this rank's slot (its own part stays in `t`). */
  private writeOthersParts<T extends Tensor>(t: T): void {
    const slot = this.view(t, this.rank, t.length);
    const offsets = partOffsets(t.length, this.worldSize);
    for (let r = 0; r < this.worldSize; r++) {
      if (r !== this.rank)
        slot.subarray(offsets[r]!, offsets[r + 1]!).set(t.subarray(offsets[r]!, offsets[r + 1]!));
    }
  }

  private part(length: number): [number, number] {
    const offsets = partOffsets(length, this.worldSize);
    return [offsets[this.rank]!, offsets[this.rank + 1]!];
  }

  async allReduce<T extends Tensor>(
    seq: number,
    t: T,
    op: ReduceOp,
    result: T,
    synced = false,
  ): Promise<void> {
    await this.begin(seq, 'allReduce', t, synced);
    this.writeOthersParts(t);
    await this.signal(seq, 'allReduce', t, S1);
    const offsets = partOffsets(t.length, this.worldSize);
    const [a, b] = [offsets[this.rank]!, offsets[this.rank + 1]!];
    const area = this.view(t, this.worldSize, t.length);
    // One pass: this rank's part of the result into the result area (for the others) and into
    // `result` (which may be `t`: every element of t's part is read before it is written there).
    this.reducePart(t, op, a, b, area.subarray(a, b) as T, result.subarray(a, b) as T);
    await this.signal(seq, 'allReduce', t, S2);
    for (let r = 0; r < this.worldSize; r++) {
      if (r !== this.rank)
        result.subarray(offsets[r]!, offsets[r + 1]!).set(area.subarray(offsets[r]!, offsets[r + 1]!));
    }
  }

  async reduceScatter<T extends Tensor>(
    seq: number,
    t: T,
    op: ReduceOp,
    out: T,
    synced = false,
  ): Promise<void> {
    await this.begin(seq, 'reduceScatter', t, synced);
    this.writeOthersParts(t);
    await this.signal(seq, 'reduceScatter', t, S1);
    const [a, b] = this.part(t.length);
    this.reducePart(t, op, a, b, out);
  }

  async broadcast<T extends Tensor>(
    seq: number,
    t: T,
    src: number,
    result: T,
    synced = false,
  ): Promise<void> {
    await this.begin(seq, 'broadcast', t, synced);
    if (this.rank === src) this.view(t, src, t.length).set(t);
    await this.signal(seq, 'broadcast', t, S1);
    result.set(this.rank === src ? t : this.view(t, src, t.length));
  }

  async allGather<T extends Tensor>(seq: number, t: T, out: T[], synced = false): Promise<void> {
    await this.begin(seq, 'allGather', t, synced);
    this.view(t, this.rank, t.length).set(t);
    await this.signal(seq, 'allGather', t, S1);
    for (let r = 0; r < this.worldSize; r++) out[r]!.set(r === this.rank ? t : this.view(t, r, t.length));
  }

  /** Lets the mapping go, and removes a file still being made (its maker or a member may have died). */
  close(): void {
    if (this.making !== undefined) {
      const name = path.basename(this.making);
      for (const dir of [SHM_DIR, fallbackDir()]) {
        try {
          unlinkSync(path.join(dir, name));
        } catch {}
      }
      this.making = undefined;
    }
    this.file?.close();
    this.file = undefined;
    this.whole = undefined;
    this.slotBytes = 0;
  }
}
