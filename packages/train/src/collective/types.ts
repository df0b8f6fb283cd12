// The collective operations among the workers of one group (what PyTorch's process group gives
// Ray Train). A group is made by every member calling initCollectiveGroup with the same name and
// world size and its own rank; data moves member to member, never through the driver. Every
// operation is called by every member in the same order; one whose peer has died rejects on
// every member with CollectiveGroupError naming the dead rank, promptly (no hang).

export type ReduceOp = 'sum' | 'mean' | 'min' | 'max';

/** The tensors collectives move: flat typed arrays of 32- or 64-bit floats. */
export type Tensor = Float32Array | Float64Array;

export interface CollectiveGroupSpec {
  /** Unique per group (the trainer uses its run name and attempt). */
  name: string;
  worldSize: number;
  rank: number;
  /** How long to wait for every member to join (default 60 s). */
  timeoutMs?: number;
  /**
   * Default timeout of every operation, ms (none by default: a dead member is noticed when its
   * connection closes; this catches one that is alive but stuck). An operation that times out
   * fails the group on every member, naming the rank it waited for.
   */
  opTimeoutMs?: number;
}

/** Options every operation takes. */
export interface OpOptions {
  /** This operation's timeout, ms (overrides the group's opTimeoutMs). */
  timeoutMs?: number;
}

/** Options of allReduce. */
export interface AllReduceOptions<T extends Tensor = Tensor> extends OpOptions {
  /** 'sum' (default), 'mean', 'min' or 'max'; NaN in any member's element makes min and max NaN. */
  op?: ReduceOp;
  /**
   * Where the result goes, returned instead of a new array: an array of the tensor's type and
   * length, reused across calls so a training loop allocates nothing per step (a new array's
   * pages fault in on first touch, which for a large tensor costs more than the collective), or
   * the tensor itself to reduce in place (as NCCL's in-place allreduce). Any other overlap with
   * the tensor is refused.
   */
  out?: T;
}

export interface CollectiveGroup {
  readonly name: string;
  readonly rank: number;
  readonly worldSize: number;
  /**
   * Whether every member is on this node, so tensors over 64 KiB (TRAY_COLLECTIVE_SHM_MIN_BYTES;
   * `off`: never) move through one shared-memory region of the group rather than TCP.
   */
  readonly sharedMemory: boolean;
  /**
   * On one node, whether those tensors move by cross-memory attach, straight between the members'
   * private arrays (Linux process_vm_readv/writev; only with TRAY_COLLECTIVE_CROSS_MEMORY=on in
   * every member): undefined until the group's first such operation, then true, or false when
   * any member cannot (off there, the kernel refuses) and the shared region is used instead.
   * undefined when the members are on several nodes.
   */
  readonly crossMemory: boolean | undefined;
  /**
   * A new zeroed array of `length` elements that the group's peers on this node map: when every
   * member's tensor and result (allReduce's `out`, or the tensor itself in place) are such
   * arrays, an operation reduces straight between them in one pass (no staging copy, no system
   * call), and broadcast / allGather / reduceScatter of such tensors read the peers' arrays
   * directly. Allocate them once and reuse them (as `out`): each is a file mapped by every peer
   * until the group is destroyed, when it becomes empty. On several nodes, a plain array.
   */
  sharedArray<T extends Tensor>(
    type: { new (length: number): T; BYTES_PER_ELEMENT: number },
    length: number,
  ): T;
  /**
   * Elementwise reduction across members; every member gets the result: a new array, or
   * `options.out` (which may be `tensor` itself: in place) filled and returned.
   */
  allReduce<T extends Tensor>(tensor: T, options?: AllReduceOptions<T>): Promise<T>;
  /** `srcRank`'s tensor on every member (others pass a tensor of the same length and type). */
  broadcast<T extends Tensor>(tensor: T, options?: { srcRank?: number } & OpOptions): Promise<T>;
  /** Every member's tensor, in rank order. */
  allGather<T extends Tensor>(tensor: T, options?: OpOptions): Promise<T[]>;
  /** The reduction of every member's tensor, member r keeping the r-th of worldSize near-equal parts. */
  reduceScatter<T extends Tensor>(tensor: T, options?: { op?: ReduceOp } & OpOptions): Promise<T>;
  barrier(options?: OpOptions): Promise<void>;
  /** Closes this member's connections; later calls reject. */
  destroy(): Promise<void>;
}
