// Checks on what arrives from the network, before any manager acts on it. Every failure is an
// INVALID_ARGUMENT whose message names the field, what was expected and what came.
import { ErrorType, errorWithInfo, IdBytes } from '@tray/protocol';

/** Byte lengths of tray's ids (common.proto), under the name the GCS's managers use. */
export const IdLength = IdBytes;

export function invalidArgument(message: string): Error {
  return errorWithInfo({ type: ErrorType.INVALID_ARGUMENT, message });
}

export function notFound(message: string): Error {
  return errorWithInfo({ type: ErrorType.NOT_FOUND, message });
}

export function alreadyExists(message: string): Error {
  return errorWithInfo({ type: ErrorType.ALREADY_EXISTS, message });
}

/** `bytes` must be an id of exactly `length` bytes; returns it. */
export function requireId(bytes: Uint8Array | null | undefined, length: number, field: string): Uint8Array {
  if (!bytes || bytes.length === 0) {
    throw invalidArgument(`${field} is required: an id of ${length} bytes`);
  }
  if (bytes.length !== length) {
    throw invalidArgument(`${field} must be ${length} bytes long, got ${bytes.length}`);
  }
  return bytes;
}

/** Like `requireId`, but an empty value is allowed (means "not set"). */
export function optionalId(bytes: Uint8Array | null | undefined, length: number, field: string): void {
  if (bytes && bytes.length > 0) requireId(bytes, length, field);
}

/** `value` must be a non-empty string; returns it. */
export function requireName(value: string | null | undefined, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidArgument(`${field} is required and must be a non-empty string`);
  }
  return value;
}

/** `message` must be present (proto3 sub-messages decode as null when absent). */
export function requireMessage<T>(message: T | null | undefined, field: string): T {
  if (message === null || message === undefined) throw invalidArgument(`${field} is required`);
  return message;
}

/** Every quantity of a resource set must be a finite, non-negative number. */
export function checkResources(
  resources: { quantities?: { [name: string]: number } | null } | null | undefined,
  field: string,
): void {
  for (const [name, quantity] of Object.entries(resources?.quantities ?? {})) {
    if (name.length === 0) throw invalidArgument(`${field} has a resource with an empty name`);
    if (!Number.isFinite(quantity) || quantity < 0) {
      throw invalidArgument(`${field}.${name} must be a finite number >= 0, got ${quantity}`);
    }
  }
}
