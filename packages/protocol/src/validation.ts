// Checks on what crosses into a tray process, one vocabulary for every package: what arrives from
// the network (the GCS's, the raylet's and the object store's handlers) and the arguments of a JS
// API (the object store's client). Every failure's message names the field, what was expected and
// what came. On the wire a failure is an error carrying an INVALID_ARGUMENT ErrorInfo (or
// NOT_FOUND / ALREADY_EXISTS for the lookups) and the server keeps serving, nothing it holds
// changed; at a JS API it is a TypeError (a value of the wrong kind) or a RangeError (one out of
// bounds), as Node's own APIs throw: the checks that serve both take `wireErrors` or `apiErrors`.
import { ErrorType, errorWithInfo } from './errors.js';
import { IdBytes, type IdKind } from './ids.js';

export function invalidArgument(message: string): Error {
  return errorWithInfo({ type: ErrorType.INVALID_ARGUMENT, message });
}

export function notFound(message: string): Error {
  return errorWithInfo({ type: ErrorType.NOT_FOUND, message });
}

export function alreadyExists(message: string): Error {
  return errorWithInfo({ type: ErrorType.ALREADY_EXISTS, message });
}

/**
 * `bytes` must be an id of exactly `length` bytes (or empty, meaning "not set", when `optional`);
 * returns it as a Buffer of its own (a copy: it outlives the message it came in).
 */
export function checkId(
  bytes: Uint8Array | null | undefined,
  length: number,
  field: string,
  optional = false,
): Buffer {
  const buf = Buffer.from(bytes ?? new Uint8Array(0));
  if (buf.length === 0) {
    if (optional) return buf;
    throw invalidArgument(`${field} is required: an id of ${length} bytes`);
  }
  if (buf.length !== length) throw invalidArgument(`${field} must be ${length} bytes, got ${buf.length}`);
  return buf;
}

/** A lease id: 1 to 64 bytes (tray makes 16), or empty when `optional`. */
export function checkLeaseId(bytes: Uint8Array | null | undefined, optional: boolean): Buffer {
  const buf = Buffer.from(bytes ?? new Uint8Array(0));
  if (buf.length === 0 && optional) return buf;
  if (buf.length === 0 || buf.length > IdBytes.maxLease) {
    throw invalidArgument(`lease_id must be 1 to ${IdBytes.maxLease} bytes, got ${buf.length}`);
  }
  return buf;
}

/** `value` must be a non-empty string; returns it. */
export function requireName(value: string | null | undefined, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidArgument(`${field} is required and must be a non-empty string`);
  }
  return value;
}

/** `value` must be a string (empty allowed) of at most `max` characters; returns it. */
export function checkString(value: unknown, field: string, max = 4096): string {
  if (typeof value !== 'string' || value.length > max)
    throw invalidArgument(`${field} must be a string of at most ${max} characters`);
  return value;
}

/** `message` must be present (proto3 sub-messages decode as null when absent). */
export function requireMessage<T>(message: T | null | undefined, field: string): T {
  if (message === null || message === undefined) throw invalidArgument(`${field} is required`);
  return message;
}

/** How a check fails: a value of the wrong kind, or one of the right kind out of bounds. */
export interface ArgumentErrors {
  wrongType(message: string): Error;
  outOfRange(message: string): Error;
}

/** A server checking a request: every failure is INVALID_ARGUMENT, sent back to the caller. */
export const wireErrors: ArgumentErrors = { wrongType: invalidArgument, outOfRange: invalidArgument };

/** A JS API checking its caller's arguments: TypeError for the wrong kind, RangeError out of bounds. */
export const apiErrors: ArgumentErrors = {
  wrongType: (message) => new TypeError(message),
  outOfRange: (message) => new RangeError(message),
};

/** What came, for a message: "undefined", "a 20-byte Uint8Array", "a string", "number 1.5"... */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (value instanceof Uint8Array) return `a ${value.byteLength}-byte ${value.constructor.name}`;
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
  if (typeof value === 'string') return `a string`;
  return `${typeof value} ${String(value)}`;
}

const ID_NAMES: Record<Exclude<IdKind, 'maxLease'>, string> = {
  job: 'a job id',
  actor: 'an actor id',
  task: 'a task id',
  object: 'an object id',
  node: 'a node id',
  worker: 'a worker id',
  placementGroup: 'a placement group id',
  lease: 'a lease id',
};

/**
 * `value` must be a Uint8Array (a Buffer is one) of exactly the length of a `kind` id; unlike
 * checkId it is not copied, for ids used while the call lasts.
 */
export function checkIdBytes(
  value: unknown,
  kind: Exclude<IdKind, 'maxLease'>,
  field: string,
  errors: ArgumentErrors,
): asserts value is Uint8Array {
  const length = IdBytes[kind];
  if (!(value instanceof Uint8Array) || value.byteLength !== length) {
    throw errors.wrongType(
      `${field} must be a ${length}-byte Uint8Array (${ID_NAMES[kind]}), got ${describeValue(value)}`,
    );
  }
}

/** `value` must be an array of `kind` ids (checkIdBytes, each named `field[i]`). */
export function checkIdList(
  value: unknown,
  kind: Exclude<IdKind, 'maxLease'>,
  field: string,
  errors: ArgumentErrors,
): asserts value is Uint8Array[] {
  if (!Array.isArray(value)) {
    const ids = `${ID_NAMES[kind].replace(/^an? /, '')}s`;
    throw errors.wrongType(`${field} must be an array of ${ids}, got ${describeValue(value)}`);
  }
  for (let i = 0; i < value.length; i++) checkIdBytes(value[i], kind, `${field}[${i}]`, errors);
}

/**
 * A byte count: an integer from 0 to `max` (a safe integer); `maxIs` says what the maximum is
 * ("the store's capacity") in the message.
 */
export function checkByteCount(
  value: unknown,
  field: string,
  max: number,
  errors: ArgumentErrors,
  maxIs?: string,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw errors.wrongType(`${field} must be an integer number of bytes, got ${describeValue(value)}`);
  }
  if (value < 0 || !Number.isSafeInteger(value) || value > max) {
    const what = maxIs === undefined ? '' : ` (${maxIs})`;
    throw errors.outOfRange(`${field} must be between 0 and ${max} bytes${what}, got ${value}`);
  }
}

/**
 * A timeout in milliseconds, as the call waits: 0 returns at once, a fraction rounds up, and a
 * negative number or Infinity is -1, waiting forever. NaN and non-numbers are refused.
 */
export function checkTimeoutMs(value: unknown, field: string, errors: ArgumentErrors): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw errors.wrongType(`${field} must be a number of milliseconds, got ${describeValue(value)}`);
  }
  if (value < 0 || value === Number.POSITIVE_INFINITY) return -1;
  return Math.ceil(value);
}

/** `value` must be bytes: a Uint8Array (or Buffer), an ArrayBuffer or any typed array or DataView. */
export function checkBytesLike(
  value: unknown,
  field: string,
  errors: ArgumentErrors,
): asserts value is Uint8Array | ArrayBuffer | ArrayBufferView {
  if (!(value instanceof Uint8Array) && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) {
    throw errors.wrongType(
      `${field} must be a Uint8Array, Buffer, ArrayBuffer or typed array, got ${describeValue(value)}`,
    );
  }
}
