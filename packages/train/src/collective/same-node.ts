// The same-node paths of the collectives that move no byte through a staging area, chosen per
// operation by every member alike from one exchange (X0) at its start:
//   shared arrays: tensors a member allocated with group.sharedArray() live in a file under
//     /dev/shm that every peer maps once (its name carries the owner's pid, the group's key and
//     a number; unlinked by the owner once an operation had every peer map it, so nothing is
//     left under /dev/shm however members die later, and until then the node's stale sweep
//     removes it with its dead owner). When every member's tensor and result are such arrays,
//     member r reduces part r of every member's tensor straight from the mappings into its own
//     result and its peer's in one pass (reduce.ts's kernel with its second output): on 2
//     members, per member and tensor of S bytes, S read and S written, what a memcpy of S moves,
//     and no system call; the two members run at once. broadcast, allGather and reduceScatter of
//     shared tensors read the peers' mappings straight into their results.
//   cross-memory attach (TRAY_COLLECTIVE_CROSS_MEMORY=on): the same traffic between private
//     arrays, through Linux process_vm_readv / process_vm_writev (the object-store addon's
//     native/src/cross_memory.cc), chunk by chunk in cache. Off by default: on the machine it was
//     measured on the kernel's page pinning made it cost more CPU than the shared region's
//     staging copies (README). On a group's first operation here every member reads every
//     peer's probe (a float holding its pid) and all vote: if any cannot (the kernel refuses,
//     or it is off there) the group never uses it.
//   otherwise the operation goes on through the shared region (shm.ts), X0 standing for its S0.
// X0 carries [pid, address of the tensor, address of the result, address of the probe, and for
// the tensor and the result: shared array number (0: not one), its file's bytes, byte offset];
// the frame headers check every member passes the same operation, type and length. Signals are
// frames over the TCP connections, so a member dying at any point fails the others as on TCP.
// A member whose peers may still write into its private arrays by cross memory when its group
// fails (it timed out while a peer, descheduled, was still copying) keeps those arrays
// referenced for the process's life, so the memory a late write lands in is never reused.
import path from 'node:path';
import { fallbackDir, loadNative, SHM_DIR, SharedFile, sharedFileDir } from '@tray/object-store';
import { like, partOffsets, reduceAll } from './reduce.js';
import type { ReduceOp, Tensor } from './types.js';
import type { OpKind } from './wire.js';

const X0 = 0x20000000;
const PROBED = X0 + 1;
const DONE = X0 + 2;
const KIND = { sum: 0, mean: 0, min: 1, max: 2 } as const;

/** An exchange of one small message with every other member at `step` of operation `seq`: everyone's, by rank. */
export type Exchange = (
  seq: number,
  kind: OpKind,
  t: Tensor | undefined,
  step: number,
  mine: Float64Array,
) => Promise<Float64Array[]>;
export type Signal = (seq: number, kind: OpKind, t: Tensor | undefined, step: number) => Promise<void>;

type Cross = Required<Pick<ReturnType<typeof loadNative>, 'crossAddress' | 'crossRead' | 'crossReduce'>>;

/** A peer's process could not be read or written: the group fails, blaming `rank`. */
export class CrossMemoryFailure extends Error {
  constructor(
    readonly rank: number,
    message: string,
  ) {
    super(message);
  }
}

/** Arrays peers of a failed group might still have been writing into (see the header). */
const retained: Tensor[] = [];

/** The addon's cross-memory functions when TRAY_COLLECTIVE_CROSS_MEMORY=on (else, with an older addon, or off Linux, undefined). */
export function crossAddon(): Cross | undefined {
  if (process.env.TRAY_COLLECTIVE_CROSS_MEMORY !== 'on' || process.platform !== 'linux') return undefined;
  try {
    const addon = loadNative();
    if (addon.crossAddress && addon.crossRead && addon.crossReduce) return addon as Cross;
  } catch {}
  return undefined;
}

const PAGE = 4096;
/** Fields of X0. */
const PID = 0;
const ADDR_A = 1;
const ADDR_B = 2;
const PROBE = 3;
const SHARED_A = 4;
const SHARED_B = 7;
const FIELDS = 10;

interface OwnArray {
  id: number;
  bytes: number;
  file: SharedFile;
  /** Still has its name under /dev/shm (peers that have not mapped it yet can open it). */
  linked: boolean;
}

export class SameNode {
  /** undefined until the group's first operation here; then whether every member can use cross memory. */
  private crossWorks: boolean | undefined;
  /** A float holding this process's pid, which peers read on the first operation. */
  private readonly probe = Float64Array.of(process.pid);
  /** The private arrays peers may write by cross memory while an operation is in flight. */
  private exposed: Tensor[] = [];
  private arrays = 0;
  private readonly own = new WeakMap<ArrayBufferLike, OwnArray>();
  private readonly ownList: OwnArray[] = [];
  /** Peers' shared arrays mapped here, by `rank/number`. */
  private readonly mapped = new Map<string, { file: SharedFile; buffer: ArrayBuffer }>();
  private closed = false;

  constructor(
    private readonly rank: number,
    private readonly worldSize: number,
    /** Unique per group (shm.ts's keyOf of the group's name): in the names of its shared arrays' files. */
    private readonly key: string,
    /** undefined on a member without cross memory (the default, an older addon): it votes no. */
    private readonly addon: Cross | undefined,
    private readonly exchange: Exchange,
    private readonly signal: Signal,
  ) {}

  /** undefined before the first operation here, then whether the group uses cross memory. */
  get crossMemory(): boolean | undefined {
    return this.crossWorks;
  }

  private fileName(pid: number, id: number): string {
    return `tray-coll-${pid}-${this.key}-${id}`;
  }

  /** A new array of `length` elements on a shared file of this member's, which peers map. */
  alloc<T extends Tensor>(
    type: new (buffer: ArrayBuffer, offset: number, length: number) => T,
    elementBytes: number,
    length: number,
  ): T {
    if (this.closed) throw new Error('the group is over');
    const bytes = Math.max(PAGE, Math.ceil((length * elementBytes) / PAGE) * PAGE);
    const id = ++this.arrays;
    const file = SharedFile.create(path.join(sharedFileDir(bytes), this.fileName(process.pid, id)), bytes);
    const buffer = file.window(0, bytes);
    const info: OwnArray = { id, bytes, file, linked: true };
    this.own.set(buffer, info);
    this.ownList.push(info);
    return new type(buffer, 0, length);
  }

  private describe(x: Tensor, into: Float64Array, at: number): void {
    const info = this.own.get(x.buffer);
    if (info === undefined) return;
    into[at] = info.id;
    into[at + 1] = info.bytes;
    into[at + 2] = x.byteOffset;
  }

  private static shared(m: Float64Array, at: number): boolean {
    return m[at]! > 0;
  }

  /** Member r's shared array described at `at` of its X0, as `t`'s type and length (mapped once). */
  private peerArray<T extends Tensor>(r: number, m: Float64Array, at: number, t: T): T {
    const id = m[at]!;
    const bytes = m[at + 1]!;
    const offset = m[at + 2]!;
    const k = `${r}/${id}`;
    let entry = this.mapped.get(k);
    if (entry === undefined) {
      const name = this.fileName(m[PID]!, id);
      let file: SharedFile;
      try {
        file = SharedFile.open(path.join(SHM_DIR, name), bytes);
      } catch {
        file = SharedFile.open(path.join(fallbackDir(), name), bytes);
      }
      entry = { file, buffer: file.window(0, bytes) };
      this.mapped.set(k, entry);
    }
    if (offset + t.byteLength > bytes) {
      throw new CrossMemoryFailure(
        r,
        `its shared array (${bytes} bytes) has no ${t.byteLength} bytes at ${offset}`,
      );
    }
    return (
      t instanceof Float32Array
        ? new Float32Array(entry.buffer, offset, t.length)
        : new Float64Array(entry.buffer, offset, t.length)
    ) as T;
  }

  /** X0 (and on the first operation the cross-memory probe and vote): everyone's message, by rank. */
  private async begin(seq: number, kind: OpKind, t: Tensor, b?: Tensor): Promise<Float64Array[]> {
    const addon = this.addon;
    const at = (x: Tensor) => (addon === undefined ? 0 : addon.crossAddress(x));
    const mine = new Float64Array(FIELDS);
    mine[PID] = process.pid;
    mine[ADDR_A] = at(t);
    mine[ADDR_B] = b === undefined ? 0 : at(b);
    mine[PROBE] = at(this.probe);
    this.describe(t, mine, SHARED_A);
    if (b !== undefined) this.describe(b, mine, SHARED_B);
    if (addon !== undefined) this.exposed = b === undefined ? [t] : [t, b];
    const all = await this.exchange(seq, kind, t, X0, mine);
    if (this.crossWorks === undefined) {
      let ok = addon === undefined ? 0 : 1;
      for (let r = 0; r < this.worldSize && addon !== undefined; r++) {
        if (r === this.rank) continue;
        const got = new Float64Array(1);
        try {
          addon.crossRead(all[r]![PID]!, all[r]![PROBE]!, got, r);
          if (got[0] !== all[r]![PID]) ok = 0;
        } catch {
          ok = 0;
        }
      }
      const votes = await this.exchange(seq, kind, t, PROBED, Float64Array.of(ok));
      this.crossWorks = votes.every((v) => v[0] === 1);
    }
    return all;
  }

  /** DONE: every member is through with every other's arrays; shared files every peer has now mapped lose their names. */
  private async end(seq: number, kind: OpKind, t: Tensor, mappedByAll: Tensor[]): Promise<void> {
    await this.signal(seq, kind, t, DONE);
    this.exposed = [];
    for (const x of mappedByAll) {
      const info = this.own.get(x.buffer);
      if (info?.linked) {
        info.file.unlink();
        info.linked = false;
      }
    }
  }

  /** Not through cross memory or shared arrays: X0 was the region's S0 (the caller goes on there). */
  private toRegion(): false {
    this.exposed = [];
    return false;
  }

  private inputs<T extends Tensor>(all: Float64Array[], t: T, a: number, b: number): T[] {
    const out: T[] = [];
    for (let r = 0; r < this.worldSize; r++) {
      out.push((r === this.rank ? t : this.peerArray(r, all[r]!, SHARED_A, t)).subarray(a, b) as T);
    }
    return out;
  }

  /** The addon's error as the group's failure, blaming the member it talked to. */
  private failure(err: unknown, what: string): CrossMemoryFailure {
    if (err instanceof CrossMemoryFailure) return err;
    const e = err as { code?: string; rank?: number; message?: string };
    const rank = typeof e.rank === 'number' ? e.rank : this.rank;
    const why =
      e.code === 'ESRCH'
        ? 'its process is gone'
        : e.code === 'EFAULT'
          ? 'its memory is not where it said (EFAULT)'
          : `the kernel refused (${e.message ?? String(err)})`;
    return new CrossMemoryFailure(rank, `${why} while this member ${what} it by cross-memory attach`);
  }

  private parts(all: Float64Array[], t: Tensor, from: number, writes: boolean) {
    const bytes = from * t.BYTES_PER_ELEMENT;
    const pids = new Int32Array(this.worldSize);
    const ins = new Float64Array(this.worldSize);
    const outs = new Float64Array(this.worldSize);
    for (let r = 0; r < this.worldSize; r++) {
      pids[r] = all[r]![PID]!;
      if (r === this.rank) continue;
      ins[r] = all[r]![ADDR_A]! + bytes;
      if (writes) outs[r] = all[r]![ADDR_B]! + bytes;
    }
    return { pids, ins, outs };
  }

  /**
   * By cross memory: part [a, b) of every member's tensor reduced into `into`, and also written
   * into every peer's result when `writes` (allReduce; reduceScatter keeps its part).
   */
  private crossReduce<T extends Tensor>(
    op: ReduceOp,
    all: Float64Array[],
    t: T,
    a: number,
    b: number,
    into: T,
    writes: boolean,
  ): void {
    const { pids, ins, outs } = this.parts(all, t, a, writes);
    try {
      this.addon!.crossReduce(
        KIND[op],
        op === 'mean' ? this.worldSize : 1,
        into,
        t.subarray(a, b),
        this.rank,
        pids,
        ins,
        outs,
      );
    } catch (err) {
      throw this.failure(err, writes ? 'read or wrote' : 'read');
    }
  }

  /** False when neither shared arrays nor cross memory serve (then the caller runs the region, X0 as its S0). */
  async allReduce<T extends Tensor>(seq: number, t: T, op: ReduceOp, result: T): Promise<boolean> {
    const all = await this.begin(seq, 'allReduce', t, result);
    const offsets = partOffsets(t.length, this.worldSize);
    const [a, b] = [offsets[this.rank]!, offsets[this.rank + 1]!];
    if (all.every((m) => SameNode.shared(m, SHARED_A) && SameNode.shared(m, SHARED_B))) {
      const inputs = this.inputs(all, t, a, b);
      const peerOut = (r: number) => this.peerArray(r, all[r]!, SHARED_B, result).subarray(a, b) as T;
      const mine = result.subarray(a, b) as T;
      if (this.worldSize === 2) {
        // One pass: into this member's result and its peer's (either may be that member's tensor: in place).
        reduceAll(op, mine, inputs, peerOut(1 - this.rank));
      } else {
        const acc = like(t, b - a);
        reduceAll(op, acc, inputs);
        mine.set(acc);
        for (let r = 0; r < this.worldSize; r++) if (r !== this.rank) peerOut(r).set(acc);
      }
      await this.end(seq, 'allReduce', t, [t, result]);
      return true;
    }
    if (!this.crossWorks) return this.toRegion();
    this.crossReduce(op, all, t, a, b, result.subarray(a, b), true);
    await this.end(seq, 'allReduce', t, []);
    return true;
  }

  async reduceScatter<T extends Tensor>(seq: number, t: T, op: ReduceOp, out: T): Promise<boolean> {
    const all = await this.begin(seq, 'reduceScatter', t);
    const offsets = partOffsets(t.length, this.worldSize);
    const [a, b] = [offsets[this.rank]!, offsets[this.rank + 1]!];
    if (all.every((m) => SameNode.shared(m, SHARED_A))) {
      reduceAll(op, out, this.inputs(all, t, a, b));
      await this.end(seq, 'reduceScatter', t, [t]);
      return true;
    }
    if (!this.crossWorks) return this.toRegion();
    this.crossReduce(op, all, t, a, b, out, false);
    await this.end(seq, 'reduceScatter', t, []);
    return true;
  }

  async broadcast<T extends Tensor>(seq: number, t: T, src: number, result: T): Promise<boolean> {
    const all = await this.begin(seq, 'broadcast', t);
    const shared = SameNode.shared(all[src]!, SHARED_A);
    if (!shared && !this.crossWorks) return this.toRegion();
    if (this.rank === src) result.set(t);
    else if (shared) result.set(this.peerArray(src, all[src]!, SHARED_A, t));
    else this.read(all, src, result);
    await this.end(seq, 'broadcast', t, shared ? [t] : []);
    return true;
  }

  async allGather<T extends Tensor>(seq: number, t: T, out: T[]): Promise<boolean> {
    const all = await this.begin(seq, 'allGather', t);
    const shared = all.every((m) => SameNode.shared(m, SHARED_A));
    if (!shared && !this.crossWorks) return this.toRegion();
    for (let r = 0; r < this.worldSize; r++) {
      if (r === this.rank) out[r]!.set(t);
      else if (shared) out[r]!.set(this.peerArray(r, all[r]!, SHARED_A, t));
      else this.read(all, r, out[r]!);
    }
    await this.end(seq, 'allGather', t, shared ? [t] : []);
    return true;
  }

  private read(all: Float64Array[], r: number, dest: Tensor): void {
    if (dest.length === 0) return;
    try {
      this.addon!.crossRead(all[r]![PID]!, all[r]![ADDR_A]!, dest, r);
    } catch (err) {
      throw this.failure(err, 'read');
    }
  }

  /**
   * The group failed or was destroyed: private arrays peers may still write stay referenced;
   * shared files are unmapped (this member's shared arrays become empty) and lose their names.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.exposed.length > 0) retained.push(...this.exposed);
    this.exposed = [];
    for (const info of this.ownList) {
      if (info.linked) {
        try {
          info.file.unlink();
        } catch {}
      }
      info.file.close();
    }
    this.ownList.length = 0;
    for (const { file } of this.mapped.values()) file.close();
    this.mapped.clear();
  }
}
