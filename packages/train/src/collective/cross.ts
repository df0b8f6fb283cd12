// The same-node path of the collectives without a staging copy: when every member is on one node
// and the kernel allows it, a member reads its peers' tensors and writes their results straight
// in their processes' memory (Linux cross-memory attach, process_vm_readv / process_vm_writev,
// through the object-store addon's native/src/cross_memory.cc), so no byte goes through the
// shared region (shm.ts) or a socket. Signals are frames over the TCP connections, as the
// region's are, so a member dying at any point fails the others as on TCP.
//   every op:   X0: every member sends [pid, address of its tensor, address of its result, address
//               of its probe] and gets everyone's (the frame header checks kind, type and length).
//               On the group's first operation here each then reads every peer's probe (a float
//               holding that peer's pid) and all vote (PROBED): if any member's kernel refused
//               (ptrace rules, seccomp, another OS) the group keeps to the shared region for good.
//   allReduce:  member r reduces part r of every member's tensor, in rank order (the TCP path's
//               order: the same bits), chunk by chunk in cache: each peer's chunk read once, the
//               result chunk written into its own result and into every peer's · DONE (everyone
//               has written everyone's result; nobody may leave before, their tensors are read).
//               On 2 members, per member and tensor of S bytes: S/2 read from the peer, S/2 of its
//               own read, S/2 written locally and S/2 into the peer: S read and S written, what a
//               memcpy of S moves (the region's scheme moves twice that). Both members run at once.
//   reduceScatter: the same with nothing written to peers.  broadcast: every other member reads
//   the source's tensor into its result · DONE.  allGather: every member reads every peer's.
// A member whose peers may still write into its arrays when its group fails (it timed out while
// a peer, descheduled, was still in its copy) keeps those arrays referenced for the process's
// life, so the memory a late write lands in is never reused.
import { loadNative } from '@tray/object-store';
import { partOffsets } from './reduce.js';
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

/** The addon's cross-memory functions, or undefined (TRAY_COLLECTIVE_CROSS_MEMORY=off, an older addon, not Linux). */
export function crossAddon(): Cross | undefined {
  if (process.env.TRAY_COLLECTIVE_CROSS_MEMORY === 'off' || process.platform !== 'linux') return undefined;
  try {
    const addon = loadNative();
    if (addon.crossAddress && addon.crossRead && addon.crossReduce) return addon as Cross;
  } catch {}
  return undefined;
}

export class CrossMemory {
  /** undefined until the group's first operation here; then whether every member can use it. */
  private works: boolean | undefined;
  /** A float holding this process's pid, which peers read on the first operation. */
  private readonly probe = Float64Array.of(process.pid);
  /** The arrays peers may read or write while an operation is in flight. */
  private exposed: Tensor[] = [];

  constructor(
    private readonly rank: number,
    private readonly worldSize: number,
    /** undefined on a member that cannot (TRAY_COLLECTIVE_CROSS_MEMORY=off, an older addon): it votes no. */
    private readonly addon: Cross | undefined,
    private readonly exchange: Exchange,
    private readonly signal: Signal,
  ) {}

  /** Whether operations may come here (not after the members found they cannot). */
  get usable(): boolean {
    return this.works !== false;
  }

  /** undefined before the first operation, then whether the group uses it. */
  get state(): boolean | undefined {
    return this.works;
  }

  /** X0 (and on the first operation the probe): everyone's [pid, address a, address b], or undefined when the group cannot. */
  private async begin(
    seq: number,
    kind: OpKind,
    t: Tensor,
    a: Tensor,
    b?: Tensor,
  ): Promise<Float64Array[] | undefined> {
    const addon = this.addon;
    const at = (x: Tensor) => (addon === undefined ? 0 : addon.crossAddress(x));
    this.exposed = b === undefined ? [a] : [a, b];
    const mine = Float64Array.of(process.pid, at(a), b === undefined ? 0 : at(b), at(this.probe));
    const all = await this.exchange(seq, kind, t, X0, mine);
    if (this.works === undefined) {
      let ok = addon === undefined ? 0 : 1;
      for (let r = 0; r < this.worldSize && addon !== undefined; r++) {
        if (r === this.rank) continue;
        const got = new Float64Array(1);
        try {
          addon.crossRead(all[r]![0]!, all[r]![3]!, got, r);
          if (got[0] !== all[r]![0]) ok = 0;
        } catch {
          ok = 0;
        }
      }
      const votes = await this.exchange(seq, kind, t, PROBED, Float64Array.of(ok));
      this.works = votes.every((v) => v[0] === 1);
    }
    if (!this.works) this.exposed = [];
    return this.works ? all : undefined;
  }

  private async end(seq: number, kind: OpKind, t: Tensor): Promise<void> {
    await this.signal(seq, kind, t, DONE);
    this.exposed = [];
  }

  /** The addon's error as the group's failure, blaming the member it talked to. */
  private failure(err: unknown, what: string): CrossMemoryFailure {
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

  private parts(all: Float64Array[], t: Tensor, field: 1 | 2, from: number, writes: boolean) {
    const bytes = from * t.BYTES_PER_ELEMENT;
    const pids = new Int32Array(this.worldSize);
    const ins = new Float64Array(this.worldSize);
    const outs = new Float64Array(this.worldSize);
    for (let r = 0; r < this.worldSize; r++) {
      pids[r] = all[r]![0]!;
      if (r === this.rank) continue;
      ins[r] = all[r]![1]! + bytes;
      if (writes) outs[r] = all[r]![field]! + bytes;
    }
    return { pids, ins, outs };
  }

  /** False when the group cannot use cross memory (decided on its first operation): use the region. */
  async allReduce<T extends Tensor>(seq: number, t: T, op: ReduceOp, result: T): Promise<boolean> {
    const all = await this.begin(seq, 'allReduce', t, t, result);
    if (all === undefined) return false;
    const offsets = partOffsets(t.length, this.worldSize);
    const [a, b] = [offsets[this.rank]!, offsets[this.rank + 1]!];
    const { pids, ins, outs } = this.parts(all, t, 2, a, true);
    try {
      this.addon!.crossReduce(
        KIND[op],
        op === 'mean' ? this.worldSize : 1,
        result.subarray(a, b),
        t.subarray(a, b),
        this.rank,
        pids,
        ins,
        outs,
      );
    } catch (err) {
      throw this.failure(err, 'read or wrote');
    }
    await this.end(seq, 'allReduce', t);
    return true;
  }

  async reduceScatter<T extends Tensor>(seq: number, t: T, op: ReduceOp, out: T): Promise<boolean> {
    const all = await this.begin(seq, 'reduceScatter', t, t);
    if (all === undefined) return false;
    const offsets = partOffsets(t.length, this.worldSize);
    const a = offsets[this.rank]!;
    const { pids, ins, outs } = this.parts(all, t, 1, a, false);
    try {
      this.addon!.crossReduce(
        KIND[op],
        op === 'mean' ? this.worldSize : 1,
        out,
        t.subarray(a, offsets[this.rank + 1]!),
        this.rank,
        pids,
        ins,
        outs,
      );
    } catch (err) {
      throw this.failure(err, 'read');
    }
    await this.end(seq, 'reduceScatter', t);
    return true;
  }

  async broadcast<T extends Tensor>(seq: number, t: T, src: number, result: T): Promise<boolean> {
    const all = await this.begin(seq, 'broadcast', t, t);
    if (all === undefined) return false;
    if (this.rank === src) result.set(t);
    else this.read(all, src, result);
    await this.end(seq, 'broadcast', t);
    return true;
  }

  async allGather<T extends Tensor>(seq: number, t: T, out: T[]): Promise<boolean> {
    const all = await this.begin(seq, 'allGather', t, t);
    if (all === undefined) return false;
    for (let r = 0; r < this.worldSize; r++) {
      if (r === this.rank) out[r]!.set(t);
      else this.read(all, r, out[r]!);
    }
    await this.end(seq, 'allGather', t);
    return true;
  }

  private read(all: Float64Array[], r: number, dest: Tensor): void {
    if (dest.length === 0) return;
    try {
      this.addon!.crossRead(all[r]![0]!, all[r]![1]!, dest, r);
    } catch (err) {
      throw this.failure(err, 'read');
    }
  }

  /** The group failed or was destroyed: arrays peers may still touch stay referenced. */
  close(): void {
    if (this.exposed.length > 0) retained.push(...this.exposed);
    this.exposed = [];
  }
}
