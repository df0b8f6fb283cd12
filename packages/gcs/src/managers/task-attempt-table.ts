// One job's task attempts in the GCS (TaskEventBuffer keeps one table per job): a ring of at most
// `max` slots in typed arrays (task id, attempt, a time per state) beside arrays of references to
// the reports' descriptors, found by (task id, attempt) through an open-addressing hash index over
// the ids. Merging a row is a probe and a few writes — no object, string key or array per
// attempt — and a full table overwrites its oldest slot. Ids are read, hashed, compared and kept
// as six 32-bit words (a report's rows are 8-byte aligned), a quarter of the work of their 24
// bytes one by one. Records (TaskEvents) are made only when asked for (GetTaskEvents).
import { TASK_EVENT_STATES, type tray } from '@tray/protocol';

const ID_BYTES = 24;
const ID_WORDS = ID_BYTES / 4;
const NUM_STATES = TASK_EVENT_STATES.length;
const FINISHED = 4;
const FAILED = 5;
const FIRST_CAPACITY = 256;

/** A report's descriptor, checked, with its ids copied once (shared by that report's rows). */
export interface Info {
  jobId: Uint8Array | undefined;
  /** The owner's (no worker id) or the executor's. */
  owner: boolean;
  name: string;
  type: string;
  funcOrClassName: string;
  actorId: Uint8Array | undefined;
  parentTaskId: Uint8Array | undefined;
  requiredResources: Record<string, number> | undefined;
  workerId: Uint8Array | undefined;
  nodeId: Uint8Array | undefined;
  workerPid: number;
}

/**
 * A hash of a task id's six words and the attempt number: FNV-1a's step per word, then
 * MurmurHash3's finalizer so that every bit of the id reaches the low bits an index position takes.
 */
function hashOf(words: Int32Array, at: number, attempt: number): number {
  let h = 0x811c9dc5 ^ attempt;
  for (let k = at; k < at + ID_WORDS; k++) h = Math.imul(h ^ words[k]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class TaskAttemptTable {
  /** Attempts kept, and the slot of the oldest (slots are a ring once the table is full). */
  size = 0;
  private head = 0;
  private capacity = 0;
  /** Attempts overwritten because the table was full. */
  evicted = 0;
  private ids = new Int32Array(0);
  private attempts = new Int32Array(0);
  private hashes = new Uint32Array(0);
  private times = new Float64Array(0);
  private owners: (Info | undefined)[] = [];
  private executors: (Info | undefined)[] = [];
  private nodes: (Uint8Array | undefined)[] = [];
  private errors: (tray.v1.IErrorInfo | undefined)[] = [];
  /** slot + 1 per position (0: empty); its length a power of two at least twice the capacity. */
  private index = new Int32Array(0);

  constructor(private readonly max: number) {}

  /**
   * The slot of the attempt (the task id `ids[at, at + 6)`, as words, and `attempt`), taken (the
   * oldest overwritten when full) if the table does not hold it yet.
   */
  slot(ids: Int32Array, at: number, attempt: number): number {
    const hash = hashOf(ids, at, attempt);
    const mask = this.index.length - 1;
    if (mask > 0) {
      for (let p = hash & mask; ; p = (p + 1) & mask) {
        const s = this.index[p]! - 1;
        if (s < 0) break;
        if (this.hashes[s] === hash && this.attempts[s] === attempt && this.sameId(s, ids, at)) return s;
      }
    }
    if (this.size === this.capacity) {
      if (this.capacity < this.max) this.grow();
      else this.evictOldest();
    }
    const s = (this.head + this.size) % this.capacity;
    this.size++;
    // A loop, not set(subarray()): no view object per attempt.
    const mine = this.ids;
    for (let k = 0, to = s * ID_WORDS; k < ID_WORDS; k++) mine[to + k] = ids[at + k]!;
    this.attempts[s] = attempt;
    this.hashes[s] = hash;
    for (let k = s * NUM_STATES; k < (s + 1) * NUM_STATES; k++) this.times[k] = 0;
    this.owners[s] = undefined;
    this.executors[s] = undefined;
    this.nodes[s] = undefined;
    this.errors[s] = undefined;
    this.insert(s);
    return s;
  }

  /** State `state` reached at `t` (the first time reached is kept). */
  reached(s: number, state: number, t: number): void {
    const k = s * NUM_STATES + state;
    const was = this.times[k]!;
    if (was === 0 || t < was) this.times[k] = t;
  }

  /** A descriptor: the owner's first one stays; the executor's (where it ran) is the last one. */
  describe(s: number, info: Info): void {
    if (info.owner) this.owners[s] ??= info;
    else this.executors[s] = info;
  }

  /** Where the owner sent the attempt (the first node said), and its first error. */
  note(s: number, node: Uint8Array | undefined, error: tray.v1.IErrorInfo | undefined): void {
    if (node) this.nodes[s] ??= node;
    if (error) this.errors[s] ??= error;
  }

  /** The attempts as TaskEvents, oldest first, from the `skip`th on. */
  records(skip = 0): tray.v1.ITaskEvent[] {
    const out: tray.v1.ITaskEvent[] = [];
    for (let k = skip; k < this.size; k++) out.push(this.record((this.head + k) % this.capacity));
    return out;
  }

  private record(s: number): tray.v1.ITaskEvent {
    const o = this.owners[s];
    const x = this.executors[s];
    const transitions: tray.v1.ITaskStateTransition[] = [];
    let last = -1;
    for (let state = 0; state < NUM_STATES; state++) {
      const t = this.times[s * NUM_STATES + state]!;
      if (t === 0) continue;
      transitions.push({ state: TASK_EVENT_STATES[state], timestampMs: t });
      last = state;
    }
    // FINISHED and FAILED both reached (the owner and the executor disagree): the later one.
    const finished = this.times[s * NUM_STATES + FINISHED]!;
    if (last === FAILED && finished > this.times[s * NUM_STATES + FAILED]!) last = FINISHED;
    transitions.sort((a, b) => Number(a.timestampMs) - Number(b.timestampMs));
    return {
      taskId: new Uint8Array(this.ids.buffer, s * ID_BYTES, ID_BYTES).slice(),
      jobId: (o ?? x)?.jobId,
      name: o?.name ?? '',
      state: last >= 0 ? TASK_EVENT_STATES[last] : undefined,
      timestampMs: last >= 0 ? this.times[s * NUM_STATES + last] : 0,
      nodeId: x?.nodeId ?? this.nodes[s],
      workerId: x?.workerId,
      attemptNumber: this.attempts[s],
      error: this.errors[s],
      actorId: o?.actorId,
      type: o?.type ?? '',
      funcOrClassName: o?.funcOrClassName ?? '',
      parentTaskId: o?.parentTaskId,
      workerPid: x?.workerPid ?? 0,
      stateTransitions: transitions,
      requiredResources: o?.requiredResources,
    };
  }

  private sameId(s: number, ids: Int32Array, at: number): boolean {
    const mine = this.ids;
    const from = s * ID_WORDS;
    for (let k = 0; k < ID_WORDS; k++) if (mine[from + k] !== ids[at + k]) return false;
    return true;
  }

  private insert(s: number): void {
    const mask = this.index.length - 1;
    let p = this.hashes[s]! & mask;
    while (this.index[p] !== 0) p = (p + 1) & mask;
    this.index[p] = s + 1;
  }

  /** The oldest attempt out of the index (backward-shift deletion: no tombstones) and the ring. */
  private evictOldest(): void {
    const s = this.head;
    const mask = this.index.length - 1;
    let p = this.hashes[s]! & mask;
    while (this.index[p] !== s + 1) p = (p + 1) & mask;
    for (let q = (p + 1) & mask; this.index[q] !== 0; q = (q + 1) & mask) {
      const home = this.hashes[this.index[q]! - 1]! & mask;
      // The entry at q may move to the hole at p if its home is not in (p, q] (cyclically).
      if ((q > p && (home <= p || home > q)) || (q < p && home <= p && home > q)) {
        this.index[p] = this.index[q]!;
        p = q;
      }
    }
    this.index[p] = 0;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    this.evicted++;
    this.owners[s] = this.executors[s] = undefined;
    this.nodes[s] = undefined;
    this.errors[s] = undefined;
  }

  /** Twice the slots (at most `max`), laid out oldest first again, and the index rebuilt. */
  private grow(): void {
    const capacity = Math.min(this.max, Math.max(FIRST_CAPACITY, this.capacity * 2));
    const ids = new Int32Array(capacity * ID_WORDS);
    const attempts = new Int32Array(capacity);
    const hashes = new Uint32Array(capacity);
    const times = new Float64Array(capacity * NUM_STATES);
    const owners = new Array<Info | undefined>(capacity);
    const executors = new Array<Info | undefined>(capacity);
    const nodes = new Array<Uint8Array | undefined>(capacity);
    const errors = new Array<tray.v1.IErrorInfo | undefined>(capacity);
    for (let k = 0; k < this.size; k++) {
      const s = (this.head + k) % this.capacity;
      ids.set(this.ids.subarray(s * ID_WORDS, (s + 1) * ID_WORDS), k * ID_WORDS);
      attempts[k] = this.attempts[s]!;
      hashes[k] = this.hashes[s]!;
      times.set(this.times.subarray(s * NUM_STATES, (s + 1) * NUM_STATES), k * NUM_STATES);
      owners[k] = this.owners[s];
      executors[k] = this.executors[s];
      nodes[k] = this.nodes[s];
      errors[k] = this.errors[s];
    }
    this.ids = ids;
    this.attempts = attempts;
    this.hashes = hashes;
    this.times = times;
    this.owners = owners;
    this.executors = executors;
    this.nodes = nodes;
    this.errors = errors;
    this.capacity = capacity;
    this.head = 0;
    let length = 1;
    while (length < capacity * 2) length *= 2;
    this.index = new Int32Array(length);
    for (let s = 0; s < this.size; s++) this.insert(s);
  }
}
