// PushTask replies decoded by hand when they are the common kind: return objects holding only an
// id, inline bytes and a size (plus the reply's flags). protobufjs makes a reader, a message
// instance per object and closures per call; this makes one plain object per reply and one per
// return, which is also what the memory store keeps (InlineReturn). Anything else in a reply
// (errors, nested refs, values in the store, unknown fields) goes through protobufjs unchanged,
// so the two decoders agree on every reply.
import { CoreWorkerService, type MethodDef, tray } from '@tray/protocol';

const NO_NESTED_REFS: tray.v1.IObjectReference[] = Object.freeze([]) as unknown as tray.v1.IObjectReference[];
const EMPTY_BYTES = new Uint8Array(0);
const NO_RETURNS: InlineReturn[] = Object.freeze([]) as unknown as InlineReturn[];

/** A field this decoder does not handle: the reply goes to protobufjs. */
const UNHANDLED = -1;

let at = 0;

/** Eight bytes of a double (fixed64, little-endian as protobuf's) copied here and read back. */
const DOUBLE = new Float64Array(1);
const DOUBLE_BYTES = new Uint8Array(DOUBLE.buffer);

function readDouble(bytes: Uint8Array, end: number): number | undefined {
  if (at + 8 > end) return undefined;
  for (let k = 0; k < 8; k++) DOUBLE_BYTES[k] = bytes[at + k]!;
  at += 8;
  return DOUBLE[0];
}

function readVarint(bytes: Uint8Array, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (at >= end) return UNHANDLED;
    const b = bytes[at++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 128;
  }
  return UNHANDLED; // ≥ 2^56 (or a negative int64): leave it to protobufjs
}

/**
 * An inline return value as decoded here: an ObjectValue (its id left out: the caller knows it)
 * that is also the memory store's StoredObject for it, so nothing is copied into another object.
 */
export class InlineReturn implements tray.v1.IObjectValue {
  readonly objectId = EMPTY_BYTES;
  readonly inPlasma = false;
  readonly nestedRefs = NO_NESTED_REFS;
  readonly error = undefined;
  constructor(
    readonly data: Uint8Array,
    readonly size: number,
  ) {}
}

/**
 * Inline values up to this size are copied out of the reply: the memory store keeps a value as
 * long as its ref lives, and a view would keep the whole read chunk it arrived in (~200 bytes of
 * other replies per small value: 190 MB for a million results held). Larger ones are most of
 * their chunk and stay views.
 */
const COPY_MAX_BYTES = 1024;
/**
 * The copies are packed into slabs of their own, not Buffer's shared pool: there they would sit
 * between short-lived buffers (encoded pushes, ids) and keep each 8 KiB pool alive (~390 bytes per
 * value held, measured). Values of tasks that finish together share a slab and die together.
 */
const SLAB_BYTES = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabAt = 0;

function copyOf(bytes: Uint8Array, at: number, length: number): Buffer {
  if (slabAt + length > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabAt = 0;
  }
  const copy = slab.subarray(slabAt, slabAt + length);
  copy.set(bytes.subarray(at, at + length));
  // Each copy starts 8-byte aligned, as a value read from a reply of its own would.
  slabAt = (slabAt + length + 7) & ~7;
  return copy;
}

/** One ObjectValue of `length` bytes at `at`, or undefined when it holds more than id/data/size. */
function readObjectValue(bytes: Uint8Array, end: number): InlineReturn | undefined {
  let data: Uint8Array | undefined;
  let size = 0;
  while (at < end) {
    const tag = bytes[at++]!;
    if (tag === 0x0a || tag === 0x12) {
      const length = readVarint(bytes, end);
      if (length === UNHANDLED || at + length > end) return undefined;
      // The object id (0x0a) is the one the caller asked for: skipped, not copied.
      if (tag === 0x12)
        data = length <= COPY_MAX_BYTES ? copyOf(bytes, at, length) : bytes.subarray(at, at + length);
      at += length;
    } else if (tag === 0x40) {
      size = readVarint(bytes, end);
      if (size === UNHANDLED) return undefined;
    } else if (tag === 0x28) {
      // in_plasma: only `false` is the inline kind handled here.
      if (readVarint(bytes, end) !== 0) return undefined;
    } else {
      return undefined;
    }
  }
  return new InlineReturn(data ?? EMPTY_BYTES, size);
}

function fastDecode(bytes: Uint8Array): tray.v1.PushTaskReply | undefined {
  at = 0;
  const end = bytes.length;
  // Replies have one return as a rule: its list is made at the end, at its size.
  let first: InlineReturn | undefined;
  let more: InlineReturn[] | undefined;
  const reply = {
    returnObjects: NO_RETURNS,
    isApplicationError: false,
    numStreamed: 0,
    workerExiting: false,
    wasCancelled: false,
    actorExiting: false,
    startedAtMs: 0,
    endedAtMs: 0,
  };
  while (at < end) {
    const tag = bytes[at++]!;
    if (tag === 0x0a) {
      const length = readVarint(bytes, end);
      if (length === UNHANDLED || at + length > end) return undefined;
      const value = readObjectValue(bytes, at + length);
      if (value === undefined) return undefined;
      if (first === undefined) first = value;
      else (more ??= [first]).push(value);
      continue;
    }
    if (tag === 0x39 || tag === 0x41) {
      // started_at_ms (7) and ended_at_ms (8): doubles.
      const time = readDouble(bytes, end);
      if (time === undefined) return undefined;
      if (tag === 0x39) reply.startedAtMs = time;
      else reply.endedAtMs = time;
      continue;
    }
    const value = readVarint(bytes, end);
    if (value === UNHANDLED) return undefined;
    if (tag === 0x10) reply.isApplicationError = value !== 0;
    else if (tag === 0x18) reply.numStreamed = value;
    else if (tag === 0x20) reply.workerExiting = value !== 0;
    else if (tag === 0x28) reply.wasCancelled = value !== 0;
    else if (tag === 0x30) reply.actorExiting = value !== 0;
    else return undefined;
  }
  if (first !== undefined) reply.returnObjects = more ?? [first];
  return reply as unknown as tray.v1.PushTaskReply;
}

/** Decodes a PushTaskReply: by hand for the common kind, else with protobufjs. */
export function decodePushTaskReply(bytes: Uint8Array): tray.v1.PushTaskReply {
  return fastDecode(bytes) ?? tray.v1.PushTaskReply.decode(bytes);
}

/** CoreWorkerService.PushTask, its replies decoded by decodePushTaskReply (same id on the wire). */
export const PUSH_TASK: MethodDef<tray.v1.PushTaskRequest, tray.v1.PushTaskReply> = {
  ...CoreWorkerService.PushTask,
  decodeResponse: decodePushTaskReply,
};
