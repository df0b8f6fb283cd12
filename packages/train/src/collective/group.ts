// A connected collective group as one member sees it: the operations of types.ts over the peer
// connections of a full mesh. Operations run one at a time in call order, each numbered (its
// seq) so every frame names the operation it belongs to. Small tensors go direct (every member
// sends its whole tensor to every other and reduces all of them); large ones as a reduce-scatter
// then an all-gather, both all-to-all over the mesh (member r reduces part r, then sends it to
// everyone), which moves 2(n-1)/n of the tensor per member and splits the arithmetic n ways.
// Both reduce in rank order, so results are the same bits on every member and either way.
// When every member is on one node, tensors of at least shmMinBytes go through a shared region
// instead (shm.ts), signalled over the same connections, reducing in the same order; or, for
// arrays the members allocated with sharedArray() (and with cross-memory attach on, any arrays),
// straight between their arrays in one pass (same-node.ts).
// The first failure (a peer's connection closing, a bad frame, an abort from a peer, a timeout)
// rejects the operation in flight and every later one, and tells the other peers why.
import type { Server } from 'node:net';
import { CollectiveGroupError } from './errors.js';
import { expectOf, recvMsg, sendMsg } from './messages.js';
import type { Peer } from './peer.js';
import { bytesOf, like, overlaps, partOffsets, REDUCE_OPS, reduceAll } from './reduce.js';
import { CrossMemoryFailure, type SameNode } from './same-node.js';
import type { ShmRegion } from './shm.js';
import type { AllReduceOptions, CollectiveGroup, OpOptions, ReduceOp, Tensor } from './types.js';
import { frameCount, MAX_FRAME_BYTES, type OpKind } from './wire.js';

/** Tensors up to this many bytes are exchanged whole (one round); larger ones reduce-scatter + all-gather. */
export const DIRECT_MAX_BYTES = 64 * 1024;
/** On one node, tensors of at least this many bytes go through the shared region (shm.ts). */
export const SHM_MIN_BYTES = DIRECT_MAX_BYTES + 1;
/** Step numbers of the all-gather phase start here (the reduce-scatter phase's start at 0). */
const GATHER_STEPS = 0x80000000;

export interface GroupInit {
  name: string;
  rank: number;
  worldSize: number;
  /** Default per-operation timeout, ms (none when undefined). */
  opTimeoutMs?: number;
  /** Largest tensor exchanged direct (default DIRECT_MAX_BYTES; the benchmark varies it). */
  directMaxBytes?: number;
  /** Smallest tensor sent through the shared region when there is one (default SHM_MIN_BYTES). */
  shmMinBytes?: number;
}

export class Group implements CollectiveGroup {
  readonly name: string;
  readonly rank: number;
  readonly worldSize: number;
  private readonly opTimeoutMs: number | undefined;
  private readonly peers: (Peer | undefined)[];
  private server: Server | undefined;
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private current: string | undefined;
  private broken: CollectiveGroupError | undefined;
  private destroyed = false;
  private readonly scratches: (ArrayBuffer | undefined)[] = [];
  /** The copy of an in-place allReduce's tensor on the TCP path (reused). */
  private copyBuffer: ArrayBuffer | undefined;
  private readonly directMaxBytes: number;
  private readonly shmMinBytes: number;
  /** The shared region when every member is on this node (init.ts decides), else undefined. */
  private region: ShmRegion | undefined;
  /** Shared arrays and cross-memory attach between the members when they share this node. */
  private sameNode: SameNode | undefined;

  constructor(init: GroupInit) {
    this.name = init.name;
    this.rank = init.rank;
    this.worldSize = init.worldSize;
    this.opTimeoutMs = init.opTimeoutMs;
    this.directMaxBytes = init.directMaxBytes ?? DIRECT_MAX_BYTES;
    this.shmMinBytes = init.shmMinBytes ?? SHM_MIN_BYTES;
    this.peers = new Array(init.worldSize).fill(undefined);
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    this.failed.catch(() => {}); // awaited only during setup
  }

  /** Connection setup (init.ts) adds each peer once authenticated, and the listening server. */
  addPeer(peer: Peer): void {
    this.peers[peer.rank] = peer;
  }
  setServer(server: Server): void {
    this.server = server;
  }
  /** Every member is on this node: large tensors go through `region`. */
  setRegion(region: ShmRegion, sameNode?: SameNode): void {
    this.region = region;
    this.sameNode = sameNode;
  }
  /** Whether operations on large tensors use the shared region (all members on one node). */
  get sharedMemory(): boolean {
    return this.region !== undefined;
  }
  /** Whether large tensors move by cross-memory attach: undefined until the first operation that would, then whether every member could. */
  get crossMemory(): boolean | undefined {
    return this.sameNode?.crossMemory;
  }

  sharedArray<T extends Tensor>(
    type: { new (length: number): T; BYTES_PER_ELEMENT: number },
    length: number,
  ): T {
    if (type !== (Float32Array as unknown) && type !== (Float64Array as unknown)) {
      const got = typeof type === 'function' ? (type as { name: string }).name || 'a function' : typeof type;
      throw this.usage('sharedArray', `type must be Float32Array or Float64Array, got ${got}`);
    }
    if (!Number.isSafeInteger(length) || length < 0) {
      throw this.usage('sharedArray', `length must be a whole number of elements >= 0, got ${length}`);
    }
    if (this.destroyed || this.broken !== undefined) {
      throw this.usage('sharedArray', 'the group is destroyed or failed: make a new one');
    }
    if (this.sameNode === undefined) return new type(length);
    return this.sameNode.alloc(
      type as unknown as new (
        buffer: ArrayBuffer,
        offset: number,
        length: number,
      ) => T,
      type.BYTES_PER_ELEMENT,
      length,
    );
  }

  /** Cross memory's exchange (cross.ts): `mine` to every other member, and theirs back, by rank. */
  readonly exchange = async (
    seq: number,
    kind: OpKind,
    t: Tensor | undefined,
    step: number,
    mine: Float64Array,
  ): Promise<Float64Array[]> => {
    const expect = expectOf(kind, t, this.current ?? kind);
    const all: Float64Array[] = [];
    const io: Promise<void>[] = [];
    for (let r = 0; r < this.worldSize; r++) {
      if (r === this.rank) {
        all.push(mine);
        continue;
      }
      const theirs = new Float64Array(mine.length);
      all.push(theirs);
      io.push(...sendMsg(this.peers[r]!, seq, kind, t, bytesOf(mine), step));
      io.push(...recvMsg(this.peers[r]!, seq, expect, bytesOf(theirs), step));
    }
    await Promise.all(io);
    return all;
  };

  /** The region's signal (shm.ts): an empty frame to and from every other member at `step`. */
  readonly signal = async (seq: number, kind: OpKind, t: Tensor | undefined, step: number): Promise<void> => {
    const expect = expectOf(kind, t, this.current ?? kind);
    const empty = new Uint8Array(0);
    await Promise.all(
      this.others().flatMap((p) => [
        ...sendMsg(p, seq, kind, t, empty, step),
        ...recvMsg(p, seq, expect, empty, step),
      ]),
    );
  };

  private viaRegion(t: Tensor): ShmRegion | undefined {
    return this.region !== undefined && t.byteLength >= this.shmMinBytes ? this.region : undefined;
  }

  /** Runs a region operation; a local failure (the file, the mapping) fails the group on every member. */
  private async onRegion(run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (err) {
      if (err instanceof CrossMemoryFailure) this.fail(err.rank, err.message);
      else if (!(err instanceof CollectiveGroupError) && this.broken === undefined) {
        this.fail(this.rank, `its shared-memory region failed: ${(err as Error).message}`);
      }
      throw err;
    }
  }
  /** Whether the group failed (set by a peer closing, e.g. during setup). */
  get failure(): CollectiveGroupError | undefined {
    return this.broken;
  }

  /** Rejects when the group fails (for setup, which waits on more than receives). */
  readonly failed: Promise<never>;
  private rejectFailed: (err: CollectiveGroupError) => void = () => {};

  /** A peer's connection failed: the group fails, naming `peerRank`. */
  fail(peerRank: number | undefined, detail: string): void {
    if (this.broken !== undefined || this.destroyed) return;
    const who = peerRank === undefined ? '' : `rank ${peerRank}: `;
    const err = new CollectiveGroupError(this.name, this.current ?? 'the group', peerRank, `${who}${detail}`);
    this.broken = err;
    this.rejectFailed(err);
    // Tell every peer still connected why (a stuck peer too, so it fails rather than waits),
    // then close: the group is over.
    for (const p of this.peers) p?.abort(peerRank, err.message);
    for (const p of this.peers) p?.rejectAll(err);
    this.region?.close();
    this.sameNode?.close();
  }

  /** A peer aborted: its group failed, blaming `blamed`. */
  aborted(peerRank: number, blamed: number | undefined, reason: string): void {
    this.fail(blamed ?? peerRank, `(as rank ${peerRank} reports) ${reason}`);
  }

  private ordered<R>(
    kind: OpKind,
    options: OpOptions | undefined,
    body: (seq: number, op: string) => Promise<R>,
  ) {
    const timeoutMs = options?.timeoutMs ?? this.opTimeoutMs;
    if (timeoutMs !== undefined && !(timeoutMs > 0 && Number.isFinite(timeoutMs))) {
      throw this.usage(kind, `timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
    }
    // Numbered only once the call is valid, so a rejected call leaves members in step.
    const seq = ++this.seq;
    const op = `${kind} #${seq}`;
    const result = this.chain.then(() => this.exec(seq, op, timeoutMs, body));
    this.chain = result.catch(() => {});
    return result;
  }

  private async exec<R>(
    seq: number,
    op: string,
    timeoutMs: number | undefined,
    body: (seq: number, op: string) => Promise<R>,
  ) {
    if (this.destroyed)
      throw new CollectiveGroupError(this.name, op, undefined, 'the group was destroyed on this member');
    if (this.broken !== undefined) {
      throw new CollectiveGroupError(
        this.name,
        op,
        this.broken.peerRank,
        `the group failed earlier: ${this.broken.message}`,
        {
          cause: this.broken,
        },
      );
    }
    this.current = op;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            const waiting = this.peers.find((p) => p !== undefined && p.pending > 0);
            this.fail(
              waiting?.rank,
              `${op} timed out after ${timeoutMs} ms${waiting ? ' waiting for it' : ''}`,
            );
          }, timeoutMs);
    try {
      const result = await body(seq, op);
      for (const p of this.peers) {
        if (p === undefined) continue;
        const extra = p.leftoverUpTo(seq);
        if (extra !== undefined) this.fail(p.rank, `it sent ${extra}, which ${op} did not expect`);
        p.doneSeq = seq;
      }
      if (this.broken !== undefined) throw this.broken;
      return result;
    } catch (err) {
      // A send fails when its socket closed: report the group's failure, which names the rank.
      if (this.broken !== undefined) throw this.broken;
      if (this.destroyed)
        throw new CollectiveGroupError(this.name, op, undefined, 'the group was destroyed on this member');
      throw err;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      this.current = undefined;
    }
  }

  private usage(kind: string, detail: string): CollectiveGroupError {
    return new CollectiveGroupError(this.name, kind, undefined, detail);
  }

  private checkTensor(kind: string, t: unknown): asserts t is Tensor {
    if (!(t instanceof Float32Array || t instanceof Float64Array)) {
      const got =
        t === null ? 'null' : typeof t === 'object' ? (t.constructor?.name ?? 'an object') : typeof t;
      throw this.usage(kind, `it takes a Float32Array or Float64Array, got ${got}`);
    }
  }

  private checkOp(kind: string, op: unknown): ReduceOp {
    if (op === undefined) return 'sum';
    if (!REDUCE_OPS.includes(op as ReduceOp)) {
      throw this.usage(kind, `op must be one of ${REDUCE_OPS.join(', ')}, got ${JSON.stringify(op)}`);
    }
    return op as ReduceOp;
  }

  private others(): Peer[] {
    return this.peers.filter((p): p is Peer => p !== undefined);
  }

  /**
   * Reduce-scatter: member r ends with the reduction of part r of every member's tensor (rank
   * order), as a new array. Part r is the elements `part(r)`; frames are reduced as they arrive.
   */
  private async reduceParts<T extends Tensor>(
    kind: OpKind,
    t: T,
    op: ReduceOp,
    seq: number,
    name: string,
    part: (r: number) => [number, number],
    out: T,
  ): Promise<void> {
    const me = this.rank;
    const n = this.worldSize;
    const mine = t.subarray(...part(me)) as T;
    const expect = expectOf(kind, t, name);
    const io: Promise<void>[] = [];
    for (const p of this.others()) {
      io.push(...sendMsg(p, seq, kind, t, bytesOf(t.subarray(...part(p.rank)))));
    }
    const theirs: (T | undefined)[] = new Array(n).fill(undefined);
    const perFrame = MAX_FRAME_BYTES / t.BYTES_PER_ELEMENT;
    const arrived = new Array(frameCount(mine.byteLength)).fill(0);
    const reduceFrame = (i: number): void => {
      const a = i * perFrame;
      const b = Math.min(mine.length, a + perFrame);
      const inputs: Tensor[] = [];
      for (let r = 0; r < n; r++) inputs.push((r === me ? mine : theirs[r]!).subarray(a, b));
      reduceAll(op, out.subarray(a, b), inputs);
    };
    for (const p of this.others()) {
      const buf = this.scratch(p.rank, t, mine.length);
      theirs[p.rank] = buf;
      io.push(
        ...recvMsg(p, seq, expect, bytesOf(buf), 0, (i) => {
          if (++arrived[i] === n - 1) reduceFrame(i);
        }),
      );
    }
    if (n === 1) for (let i = 0; i < arrived.length; i++) reduceFrame(i);
    await Promise.all(io);
  }

  /**
   * A receive buffer for `peer`'s part, reused by later operations (they run one at a time):
   * allocating (and page-faulting) fresh ones for every large allReduce cost more than the data.
   */
  private scratch<T extends Tensor>(peer: number, like: T, length: number): T {
    const bytes = length * like.BYTES_PER_ELEMENT;
    let buf = this.scratches[peer];
    if (buf === undefined || buf.byteLength < bytes) {
      buf = new ArrayBuffer(bytes);
      this.scratches[peer] = buf;
    }
    return (
      like instanceof Float32Array ? new Float32Array(buf, 0, length) : new Float64Array(buf, 0, length)
    ) as T;
  }

  /** The `out` of an allReduce, checked: the tensor's type and length, and `tensor` itself or apart from it. */
  private checkOut<T extends Tensor>(tensor: T, out: unknown): T | undefined {
    if (out === undefined) return undefined;
    if (out?.constructor !== tensor.constructor || (out as T).length !== tensor.length) {
      const got =
        out instanceof Float32Array || out instanceof Float64Array
          ? `a ${out.constructor.name} of ${out.length}`
          : out === null
            ? 'null'
            : typeof out === 'object'
              ? (out.constructor?.name ?? 'an object')
              : typeof out;
      throw this.usage(
        'allReduce',
        `out must be a ${tensor.constructor.name} of ${tensor.length} elements like the tensor, got ${got}`,
      );
    }
    if (out !== tensor && overlaps(out as T, tensor)) {
      throw this.usage(
        'allReduce',
        'out overlaps the tensor without being it: pass the tensor itself (in place) or an array apart from it',
      );
    }
    return out as T;
  }

  /** An array of `t`'s type and length reused by later operations (they run one at a time). */
  private inputCopy<T extends Tensor>(t: T): T {
    if (this.copyBuffer === undefined || this.copyBuffer.byteLength < t.byteLength) {
      this.copyBuffer = new ArrayBuffer(t.byteLength);
    }
    const copy = (
      t instanceof Float32Array
        ? new Float32Array(this.copyBuffer, 0, t.length)
        : new Float64Array(this.copyBuffer, 0, t.length)
    ) as T;
    copy.set(t);
    return copy;
  }

  allReduce<T extends Tensor>(tensor: T, options?: AllReduceOptions<T>): Promise<T> {
    this.checkTensor('allReduce', tensor);
    const op = this.checkOp('allReduce', options?.op);
    const into = this.checkOut(tensor, options?.out);
    return this.ordered('allReduce', options, async (seq, name) => {
      const n = this.worldSize;
      const result = into ?? like(tensor, tensor.length);
      const region = this.viaRegion(tensor);
      if (region !== undefined) {
        // The region reads every element of the tensor before it writes that element of the result.
        await this.onRegion(async () => {
          if (!(await this.sameNode?.allReduce(seq, tensor, op, result)))
            await region.allReduce(seq, tensor, op, result, this.sameNode !== undefined);
        });
        return result;
      }
      // In place over TCP: the result lands while the tensor is still being sent and reduced,
      // so the tensor is read from a copy.
      const input = result === tensor ? this.inputCopy(tensor) : tensor;
      if (input.byteLength <= this.directMaxBytes || input.length < n) {
        // Direct: everyone's whole input to everyone; each member reduces all of them.
        await this.reduceParts('allReduce', input, op, seq, name, () => [0, input.length], result);
        return result;
      }
      const offsets = partOffsets(input.length, n);
      const range = (r: number): [number, number] => [offsets[r]!, offsets[r + 1]!];
      const expect = expectOf('allReduce', input, name);
      // The other parts land in place; their receives are posted first, so a peer that finishes
      // its part sooner does not have its frames held aside. (Handled now: if the reduce-scatter
      // fails, these reject too, and an unhandled rejection would end the worker.)
      const recvs: Promise<void>[] = [];
      for (const p of this.others()) {
        recvs.push(...recvMsg(p, seq, expect, bytesOf(result.subarray(...range(p.rank))), GATHER_STEPS));
      }
      const gathered = Promise.all(recvs);
      gathered.catch(() => {});
      const part = result.subarray(...range(this.rank)) as T;
      await this.reduceParts('allReduce', input, op, seq, name, range, part);
      const sends = this.others().flatMap((p) =>
        sendMsg(p, seq, 'allReduce', input, bytesOf(part), GATHER_STEPS),
      );
      await Promise.all([gathered, ...sends]);
      return result;
    });
  }

  reduceScatter<T extends Tensor>(tensor: T, options?: { op?: ReduceOp } & OpOptions): Promise<T> {
    this.checkTensor('reduceScatter', tensor);
    const op = this.checkOp('reduceScatter', options?.op);
    return this.ordered('reduceScatter', options, async (seq, name) => {
      const offsets = partOffsets(tensor.length, this.worldSize);
      const out = like(tensor, offsets[this.rank + 1]! - offsets[this.rank]!);
      const region = this.viaRegion(tensor);
      if (region !== undefined) {
        await this.onRegion(async () => {
          if (!(await this.sameNode?.reduceScatter(seq, tensor, op, out)))
            await region.reduceScatter(seq, tensor, op, out, this.sameNode !== undefined);
        });
        return out;
      }
      await this.reduceParts(
        'reduceScatter',
        tensor,
        op,
        seq,
        name,
        (r) => [offsets[r]!, offsets[r + 1]!],
        out,
      );
      return out;
    });
  }

  broadcast<T extends Tensor>(tensor: T, options?: { srcRank?: number } & OpOptions): Promise<T> {
    this.checkTensor('broadcast', tensor);
    const src = options?.srcRank ?? 0;
    if (!Number.isInteger(src) || src < 0 || src >= this.worldSize) {
      throw this.usage('broadcast', `srcRank must be an integer rank in [0, ${this.worldSize}), got ${src}`);
    }
    return this.ordered('broadcast', options, async (seq, name) => {
      const result = like(tensor, tensor.length);
      const region = this.viaRegion(tensor);
      if (region !== undefined) {
        await this.onRegion(async () => {
          if (!(await this.sameNode?.broadcast(seq, tensor, src, result)))
            await region.broadcast(seq, tensor, src, result, this.sameNode !== undefined);
        });
        return result;
      }
      if (src === this.rank) {
        result.set(tensor);
        await Promise.all(
          this.others().flatMap((p) => sendMsg(p, seq, 'broadcast', tensor, bytesOf(tensor))),
        );
      } else {
        await Promise.all(
          recvMsg(this.peers[src]!, seq, expectOf('broadcast', tensor, name), bytesOf(result)),
        );
      }
      return result;
    });
  }

  allGather<T extends Tensor>(tensor: T, options?: OpOptions): Promise<T[]> {
    this.checkTensor('allGather', tensor);
    return this.ordered('allGather', options, async (seq, name) => {
      const out: T[] = [];
      const region = this.viaRegion(tensor);
      if (region !== undefined) {
        for (let r = 0; r < this.worldSize; r++) out.push(like(tensor, tensor.length));
        await this.onRegion(async () => {
          if (!(await this.sameNode?.allGather(seq, tensor, out)))
            await region.allGather(seq, tensor, out, this.sameNode !== undefined);
        });
        return out;
      }
      const io: Promise<void>[] = [];
      const expect = expectOf('allGather', tensor, name);
      for (let r = 0; r < this.worldSize; r++) {
        const buf = like(tensor, tensor.length);
        out.push(buf);
        if (r === this.rank) buf.set(tensor);
        else io.push(...recvMsg(this.peers[r]!, seq, expect, bytesOf(buf)));
      }
      for (const p of this.others()) io.push(...sendMsg(p, seq, 'allGather', tensor, bytesOf(tensor)));
      await Promise.all(io);
      return out;
    });
  }

  barrier(options?: OpOptions): Promise<void> {
    return this.ordered('barrier', options, async (seq, name) => {
      const expect = expectOf('barrier', undefined, name);
      const empty = new Uint8Array(0);
      await Promise.all(
        this.others().flatMap((p) => [
          ...sendMsg(p, seq, 'barrier', undefined, empty),
          ...recvMsg(p, seq, expect, empty),
        ]),
      );
    });
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const err = new CollectiveGroupError(
      this.name,
      this.current ?? 'the group',
      undefined,
      'the group was destroyed on this member',
    );
    for (const p of this.peers) {
      p?.rejectAll(err);
      p?.close();
    }
    this.region?.close();
    this.sameNode?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
