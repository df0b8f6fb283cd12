// Checks on what arrives from the network, before the raylet acts on it. A bad request gets an
// INVALID_ARGUMENT error that says which field was wrong and what it should be; the raylet
// keeps serving and nothing it holds changes.
import { ErrorType, errorWithInfo, IdBytes, type tray } from '@tray/protocol';
import { InvalidResourceError, ResourceSet } from '@tray/scheduler';

export const WORKER_ID_BYTES = IdBytes.worker;
export const JOB_ID_BYTES = IdBytes.job;
export const MAX_LEASE_ID_BYTES = IdBytes.maxLease;

export function invalid(message: string): Error {
  return errorWithInfo({ type: ErrorType.INVALID_ARGUMENT, message });
}

/** `bytes` must hold exactly `length` bytes (or be empty when `optional`). */
export function checkId(
  bytes: Uint8Array | null | undefined,
  length: number,
  field: string,
  optional = false,
): Buffer {
  const buf = Buffer.from(bytes ?? new Uint8Array(0));
  if (optional && buf.length === 0) return buf;
  if (buf.length !== length) {
    throw invalid(`${field} must be ${length} bytes, got ${buf.length}`);
  }
  return buf;
}

export function checkLeaseId(bytes: Uint8Array | null | undefined, optional: boolean): Buffer {
  const buf = Buffer.from(bytes ?? new Uint8Array(0));
  if (buf.length === 0 && optional) return buf;
  if (buf.length === 0 || buf.length > MAX_LEASE_ID_BYTES) {
    throw invalid(`lease_id must be 1 to ${MAX_LEASE_ID_BYTES} bytes, got ${buf.length}`);
  }
  return buf;
}

/** A proto ResourceSet as a validated scheduler ResourceSet. */
export function toResourceSet(
  message: tray.v1.ResourceSet.$Properties | null | undefined,
  field: string,
): ResourceSet {
  try {
    return ResourceSet.from(message?.quantities ?? {}, field);
  } catch (err) {
    if (err instanceof InvalidResourceError) throw invalid(err.message);
    throw err;
  }
}

export function checkString(value: unknown, field: string, max = 4096): string {
  if (typeof value !== 'string' || value.length > max)
    throw invalid(`${field} must be a string of at most ${max} characters`);
  return value;
}
