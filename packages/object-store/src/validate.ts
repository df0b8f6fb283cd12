// Argument checks for everything that crosses into the store: the public API checks the
// caller's arguments, the server checks what arrives over the socket. C++ trusts both.
import { IdBytes } from '@tray/protocol';

export const OBJECT_ID_BYTES = IdBytes.object;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `a ${value.byteLength}-byte ${value.constructor.name}`;
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
  if (typeof value === 'string') return `a string`;
  return `${typeof value} ${String(value)}`;
}

export function checkObjectId(value: unknown, name = 'id'): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength !== OBJECT_ID_BYTES) {
    throw new TypeError(
      `${name} must be a ${OBJECT_ID_BYTES}-byte Uint8Array (an object id), got ${describe(value)}`,
    );
  }
}

export function checkObjectIds(value: unknown, name = 'ids'): asserts value is Uint8Array[] {
  if (!Array.isArray(value))
    throw new TypeError(`${name} must be an array of object ids, got ${describe(value)}`);
  for (let i = 0; i < value.length; i++) checkObjectId(value[i], `${name}[${i}]`);
}

/** A byte count: a non-negative safe integer no larger than `max`. */
export function checkSize(value: unknown, name: string, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer number of bytes, got ${describe(value)}`);
  }
  if (value < 0 || !Number.isSafeInteger(value) || value > max) {
    throw new RangeError(`${name} must be between 0 and ${max} bytes (the store's capacity), got ${value}`);
  }
}

/** A timeout in milliseconds: 0 returns at once, negative or Infinity waits forever. */
export function checkTimeout(value: unknown, name = 'timeoutMs'): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number of milliseconds, got ${describe(value)}`);
  }
  if (value < 0 || value === Number.POSITIVE_INFINITY) return -1;
  return Math.ceil(value);
}

export function checkBytes(value: unknown, name: string): asserts value is Uint8Array | ArrayBuffer {
  if (!(value instanceof Uint8Array) && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) {
    throw new TypeError(
      `${name} must be a Uint8Array, Buffer, ArrayBuffer or typed array, got ${describe(value)}`,
    );
  }
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
