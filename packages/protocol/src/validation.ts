// Checks on what arrives from the network, before a server acts on it: one vocabulary for the
// GCS's and the raylet's handlers. Every failure is an error carrying an INVALID_ARGUMENT
// ErrorInfo (or NOT_FOUND / ALREADY_EXISTS for the lookups) whose message names the field, what
// was expected and what came; the server keeps serving and nothing it holds changes.
import { ErrorType, errorWithInfo } from './errors.js';
import { IdBytes } from './ids.js';

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
