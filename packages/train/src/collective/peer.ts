// One authenticated connection to another member of a collective group. Reads frames off the
// socket and checks each: its header (wire.ts), its place in the stream (operation numbers and
// steps only move forward, and never to an operation already finished), and, against the receive
// the operation posted, its kind, dtype, tensor length and size. A body goes straight into the
// posted destination; a frame that arrives before its receive is posted (the peer is ahead) is
// kept until it is. Anything wrong, and the connection closing, is reported once to the group.
import type { Socket } from 'node:net';
import {
  ABORT_KIND,
  decodeHeader,
  dtypeName,
  encodeHeader,
  type FrameHeader,
  HEADER_BYTES,
  kindName,
  NO_RANK,
} from './wire.js';

/** What an operation expects of one frame. */
export interface Expect {
  kind: number;
  dtype: number;
  elements: number;
  byteLength: number;
  /** For messages: 'allReduce #3'. */
  op: string;
}

interface Posted {
  expect: Expect;
  dest: Uint8Array;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Early {
  header: FrameHeader;
  body: Buffer;
  complete: boolean;
  posted?: Posted;
}

export interface PeerEvents {
  /** The connection is unusable: `detail` says why (the group fails with it). */
  fail(peerRank: number, detail: string): void;
  /** The peer's group failed and it says why, blaming `blamed` (or undefined). */
  abort(peerRank: number, blamed: number | undefined, reason: string): void;
}

const key = (seq: number, step: number): string => `${seq}/${step}`;
/** Frames with bodies up to this size are copied behind their header and written at once. */
const SMALL_BODY_BYTES = 64 * 1024;

export class Peer {
  private header = Buffer.alloc(HEADER_BYTES);
  private headerHave = 0;
  /** Where the current frame's body goes. */
  private body: { dest: Uint8Array; offset: number; done: () => void } | undefined;
  private lastSeq = 0;
  private lastStep = -1;
  private readonly posted = new Map<string, Posted>();
  private readonly early = new Map<string, Early>();
  private closed = false;
  /** Operations up to this number are over: a frame for one is an error. */
  doneSeq = 0;

  constructor(
    readonly rank: number,
    private readonly socket: Socket,
    leftover: Buffer,
    private readonly events: PeerEvents,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {}); // 'close' follows and reports
    socket.on('close', () =>
      this.fail('its connection closed (its process died, or it destroyed the group)'),
    );
    if (leftover.length > 0) this.onData(leftover);
    socket.resume();
  }

  /** Number of posted receives not yet filled (for "waiting for rank …" messages). */
  get pending(): number {
    return this.posted.size + [...this.early.values()].filter((e) => e.posted !== undefined).length;
  }

  private fail(detail: string): void {
    if (this.closed) return;
    this.closed = true;
    this.events.fail(this.rank, detail);
  }

  private onData(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.closed) {
      if (this.body !== undefined) {
        const b = this.body;
        const n = Math.min(b.dest.length - b.offset, chunk.length - at);
        b.dest.set(chunk.subarray(at, at + n), b.offset);
        b.offset += n;
        at += n;
        if (b.offset === b.dest.length) {
          this.body = undefined;
          b.done();
        }
        continue;
      }
      const n = Math.min(HEADER_BYTES - this.headerHave, chunk.length - at);
      chunk.copy(this.header, this.headerHave, at, at + n);
      this.headerHave += n;
      at += n;
      if (this.headerHave === HEADER_BYTES) {
        this.headerHave = 0;
        this.onHeader();
      }
    }
  }

  private onHeader(): void {
    const h = decodeHeader(this.header);
    if (typeof h === 'string') {
      this.fail(`it sent ${h}`);
      return;
    }
    if (h.kind === ABORT_KIND) {
      const dest = Buffer.alloc(h.byteLength);
      this.startBody(dest, () => {
        this.closed = true;
        this.events.abort(this.rank, h.step === NO_RANK ? undefined : h.step, dest.toString('utf8'));
      });
      return;
    }
    if (
      h.seq < this.lastSeq ||
      (h.seq === this.lastSeq && h.step <= this.lastStep) ||
      h.seq <= this.doneSeq
    ) {
      this.fail(
        `it sent step ${h.step} of operation #${h.seq} out of order (after step ${this.lastStep} of #${this.lastSeq})`,
      );
      return;
    }
    this.lastSeq = h.seq;
    this.lastStep = h.step;
    const k = key(h.seq, h.step);
    const posted = this.posted.get(k);
    if (posted !== undefined) {
      const wrong = this.mismatch(h, posted.expect);
      if (wrong !== undefined) {
        this.fail(wrong);
        return;
      }
      this.posted.delete(k);
      this.startBody(posted.dest, posted.resolve);
      return;
    }
    const early: Early = { header: h, body: Buffer.allocUnsafe(h.byteLength), complete: false };
    this.early.set(k, early);
    this.startBody(early.body, () => {
      early.complete = true;
      if (early.posted !== undefined) this.deliverEarly(k, early, early.posted);
    });
  }

  private startBody(dest: Uint8Array, done: () => void): void {
    if (dest.length === 0) done();
    else this.body = { dest, offset: 0, done };
  }

  private mismatch(h: FrameHeader, e: Expect): string | undefined {
    if (h.kind !== e.kind) {
      return `it is in ${kindName(h.kind)} #${h.seq} while this member is in ${e.op}: every member must call the same collectives in the same order`;
    }
    if (h.dtype !== e.dtype)
      return `it passed a ${dtypeName(h.dtype)} to ${e.op}, this member a ${dtypeName(e.dtype)}`;
    if (h.elements !== e.elements) {
      return `it passed a tensor of ${h.elements} elements to ${e.op}, this member ${e.elements}: every member must pass the same length`;
    }
    if (h.byteLength !== e.byteLength)
      return `it sent a frame of ${h.byteLength} bytes in ${e.op}, ${e.byteLength} expected`;
    return undefined;
  }

  private deliverEarly(k: string, early: Early, p: Posted): void {
    this.early.delete(k);
    const wrong = this.mismatch(early.header, p.expect);
    if (wrong !== undefined) {
      this.fail(wrong);
      p.reject(new Error(wrong)); // the group's error (naming this rank) replaces it
      return;
    }
    p.dest.set(early.body);
    p.resolve();
  }

  /** Resolves when step `step` of operation `seq` from this peer has been written into `dest`. */
  recv(seq: number, step: number, expect: Expect, dest: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const p: Posted = { expect: { ...expect, byteLength: dest.length }, dest, resolve, reject };
      const k = key(seq, step);
      const early = this.early.get(k);
      if (early === undefined) this.posted.set(k, p);
      else if (early.complete) this.deliverEarly(k, early, p);
      else early.posted = p;
    });
  }

  /** Whether the peer sent frames of operations up to `seq` that no receive took (it sent too much). */
  leftoverUpTo(seq: number): string | undefined {
    for (const e of this.early.values()) {
      if (e.header.seq <= seq) return `step ${e.header.step} of ${kindName(e.header.kind)} #${e.header.seq}`;
    }
    return undefined;
  }

  /** Sends one frame; resolves once the socket has taken it. */
  send(h: FrameHeader, body?: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => {
        if (!err) {
          resolve();
          return;
        }
        // The group's error (naming this rank) first, so the operation rejects with it.
        this.fail(`writing to its connection failed (${err.message})`);
        reject(err);
      };
      if (body === undefined || body.length === 0) {
        this.socket.write(encodeHeader(h), done);
      } else if (body.length <= SMALL_BODY_BYTES) {
        // One write (one syscall) for a small frame: small operations are latency.
        this.socket.write(Buffer.concat([encodeHeader(h), body]), done);
      } else {
        this.socket.write(encodeHeader(h));
        this.socket.write(body, done);
      }
    });
  }

  /** Rejects every posted receive with `err` and stops reporting. */
  rejectAll(err: Error): void {
    this.closed = true;
    for (const p of this.posted.values()) p.reject(err);
    this.posted.clear();
    for (const e of this.early.values()) e.posted?.reject(err);
    this.early.clear();
  }

  /** Sends an abort frame (best effort) and closes; only closes a connection already failed. */
  abort(blamed: number | undefined, reason: string): void {
    if (this.closed) {
      this.socket.destroy();
      return;
    }
    this.closed = true;
    const body = Buffer.from(reason.slice(0, 500), 'utf8');
    const h = {
      kind: ABORT_KIND,
      dtype: 0,
      seq: 0,
      step: blamed ?? NO_RANK,
      byteLength: body.length,
      elements: 0,
    };
    this.socket.end(Buffer.concat([encodeHeader(h), body]));
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
