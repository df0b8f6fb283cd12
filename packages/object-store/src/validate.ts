// Argument checks for everything that crosses into the store, in @tray/protocol's vocabulary
// (validation.ts): the public API checks the caller's arguments (TypeError / RangeError), the
// server checks what arrives over the socket (`wireErrors`: INVALID_ARGUMENT). C++ trusts both.
// Here: the store's names for those checks, and the byte helpers of its API.
import {
  type ArgumentErrors,
  apiErrors,
  checkByteCount,
  checkIdBytes,
  checkIdList,
  checkTimeoutMs,
  IdBytes,
} from '@tray/protocol';

export const OBJECT_ID_BYTES = IdBytes.object;

export function checkObjectId(
  value: unknown,
  name = 'id',
  errors: ArgumentErrors = apiErrors,
): asserts value is Uint8Array {
  checkIdBytes(value, 'object', name, errors);
}

export function checkObjectIds(
  value: unknown,
  name = 'ids',
  errors: ArgumentErrors = apiErrors,
): asserts value is Uint8Array[] {
  checkIdList(value, 'object', name, errors);
}

/** A byte count: a non-negative safe integer no larger than `max`, the store's capacity. */
export function checkSize(
  value: unknown,
  name: string,
  max: number,
  errors: ArgumentErrors = apiErrors,
): asserts value is number {
  checkByteCount(value, name, max, errors, "the store's capacity");
}

/** A timeout in milliseconds: 0 returns at once, negative or Infinity waits forever (-1). */
export function checkTimeout(value: unknown, name = 'timeoutMs', errors: ArgumentErrors = apiErrors): number {
  return checkTimeoutMs(value, name, errors);
}

/** Bytes of a Uint8Array, ArrayBuffer or any ArrayBufferView, without copying. */
export function asBytes(value: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** A Map key for an id (latin1 keeps one char per byte: cheap and exact). */
export function idKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
}
