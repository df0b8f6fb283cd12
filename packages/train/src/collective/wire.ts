// The bytes on a peer connection between two members of a collective group. After the handshake
// (handshake.ts) the connection carries frames, each a 24-byte header and a body:
//   u8 kind (the operation, or ABORT) · u8 dtype (1 float32, 2 float64, 0 none) · u16 zero ·
//   u32 seq (the operation's number in the group, from 1) · u32 step (the frame's index within
//   the operation's message) · u32 byteLength (of the body, at most MAX_FRAME_BYTES) ·
//   f64 elements (the sender's tensor length, so a mismatch is named rather than misread).
// Headers are checked here for what a header alone can say; the peer (peer.ts) checks each frame
// against the frame the operation expects.
export const HEADER_BYTES = 24;
/** The largest body of one frame; larger messages go as several frames (steps). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** The longest reason an ABORT frame carries. */
export const MAX_ABORT_BYTES = 2048;

export const OP_KINDS = ['allReduce', 'broadcast', 'allGather', 'reduceScatter', 'barrier'] as const;
export type OpKind = (typeof OP_KINDS)[number];
/** Frame kind of an abort: the sender's group failed; step carries the rank it blames (or 0xffffffff). */
export const ABORT_KIND = 255;
export const NO_RANK = 0xffffffff;

export type DType = 0 | 1 | 2;
export const DTYPE_NONE: DType = 0;

export function kindCode(kind: OpKind): number {
  return OP_KINDS.indexOf(kind) + 1;
}

export function kindName(code: number): string {
  if (code === ABORT_KIND) return 'abort';
  return OP_KINDS[code - 1] ?? `unknown operation ${code}`;
}

export function dtypeOf(tensor: Float32Array | Float64Array): DType {
  return tensor instanceof Float32Array ? 1 : 2;
}

export function dtypeName(dtype: number): string {
  return dtype === 1
    ? 'Float32Array'
    : dtype === 2
      ? 'Float64Array'
      : dtype === 0
        ? 'no tensor'
        : `dtype ${dtype}`;
}

export interface FrameHeader {
  kind: number;
  dtype: number;
  seq: number;
  step: number;
  byteLength: number;
  elements: number;
}

export function encodeHeader(h: FrameHeader): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.writeUInt8(h.kind, 0);
  b.writeUInt8(h.dtype, 1);
  b.writeUInt32LE(h.seq, 4);
  b.writeUInt32LE(h.step, 8);
  b.writeUInt32LE(h.byteLength, 12);
  b.writeDoubleLE(h.elements, 16);
  return b;
}

/** Decodes and checks a header; returns a description of what is wrong instead when it is invalid. */
export function decodeHeader(b: Buffer): FrameHeader | string {
  const h: FrameHeader = {
    kind: b.readUInt8(0),
    dtype: b.readUInt8(1),
    seq: b.readUInt32LE(4),
    step: b.readUInt32LE(8),
    byteLength: b.readUInt32LE(12),
    elements: b.readDoubleLE(16),
  };
  if (b.readUInt16LE(2) !== 0) return 'a frame header with nonzero reserved bytes';
  if (h.kind === ABORT_KIND) {
    if (h.byteLength > MAX_ABORT_BYTES)
      return `an abort frame of ${h.byteLength} bytes (at most ${MAX_ABORT_BYTES})`;
    return h;
  }
  if (h.kind < 1 || h.kind > OP_KINDS.length) return `a frame of unknown kind ${h.kind}`;
  if (h.dtype > 2) return `a frame of unknown dtype ${h.dtype}`;
  if (h.seq === 0) return 'a frame with operation number 0';
  if (h.byteLength > MAX_FRAME_BYTES) return `a frame of ${h.byteLength} bytes (at most ${MAX_FRAME_BYTES})`;
  const size = h.dtype === 1 ? 4 : h.dtype === 2 ? 8 : 1;
  if (h.byteLength % size !== 0)
    return `a ${dtypeName(h.dtype)} frame of ${h.byteLength} bytes (not whole elements)`;
  if (!Number.isSafeInteger(h.elements) || h.elements < 0)
    return `a frame claiming a tensor of ${h.elements} elements`;
  return h;
}

/** The byte lengths of the frames one message of `bytes` bytes goes as (at least one, maybe empty). */
export function frameCount(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / MAX_FRAME_BYTES));
}
