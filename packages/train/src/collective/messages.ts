// The messages of an operation as frames: a tensor's bytes cut into frames of at most
// MAX_FRAME_BYTES, numbered by step from `first`, sent to or received from one peer, and what
// each received frame must be (its kind, dtype and the sender's tensor length).
import type { Expect, Peer } from './peer.js';
import type { Tensor } from './types.js';
import { DTYPE_NONE, dtypeOf, frameCount, kindCode, MAX_FRAME_BYTES, type OpKind } from './wire.js';

/** Sends `bytes` to `peer` as frames from step `first`. */
export function sendMsg(
  peer: Peer,
  seq: number,
  kind: OpKind,
  t: Tensor | undefined,
  bytes: Uint8Array,
  first = 0,
) {
  const sends: Promise<void>[] = [];
  const frames = frameCount(bytes.length);
  for (let i = 0; i < frames; i++) {
    const body = bytes.subarray(i * MAX_FRAME_BYTES, Math.min(bytes.length, (i + 1) * MAX_FRAME_BYTES));
    const header = {
      kind: kindCode(kind),
      dtype: t === undefined ? DTYPE_NONE : dtypeOf(t),
      seq,
      step: first + i,
      byteLength: body.length,
      elements: t?.length ?? 0,
    };
    sends.push(peer.send(header, body));
  }
  return sends;
}

/** Receives `dest.length` bytes from `peer` as frames from step `first`; `onFrame(i)` after frame i. */
export function recvMsg(
  peer: Peer,
  seq: number,
  expect: Expect,
  dest: Uint8Array,
  first = 0,
  onFrame?: (i: number) => void,
) {
  const frames = frameCount(dest.length);
  const recvs: Promise<void>[] = [];
  for (let i = 0; i < frames; i++) {
    const part = dest.subarray(i * MAX_FRAME_BYTES, Math.min(dest.length, (i + 1) * MAX_FRAME_BYTES));
    const p = peer.recv(seq, first + i, expect, part);
    recvs.push(onFrame ? p.then(() => onFrame(i)) : p);
  }
  return recvs;
}

export function expectOf(kind: OpKind, t: Tensor | undefined, op: string): Expect {
  return {
    kind: kindCode(kind),
    dtype: t === undefined ? DTYPE_NONE : dtypeOf(t),
    elements: t?.length ?? 0,
    byteLength: 0,
    op,
  };
}
