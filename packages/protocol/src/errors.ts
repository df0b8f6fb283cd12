// The one error channel of both transports: an `ErrorInfo` (common.proto). A handler that
// throws is answered with its ErrorInfo; the caller's promise rejects with `RemoteError`.
import { tray } from '../generated/proto.js';

export const ErrorType = tray.v1.ErrorType;
export type ErrorInfo = tray.v1.ErrorInfo.$Properties;

/** A call failed on the other side: `info` says how, in the terms of common.proto. */
export class RemoteError extends Error {
  readonly info: ErrorInfo;
  readonly type: tray.v1.ErrorType;
  /** The gRPC status code, when the call went over gRPC (`@grpc/grpc-js`'s `status`). */
  readonly grpcCode: number | undefined;
  constructor(info: ErrorInfo, grpcCode?: number) {
    super(info.message || `remote call failed (${ErrorType[info.type ?? 0]})`);
    this.name = 'RemoteError';
    this.info = info;
    this.type = info.type ?? ErrorType.ERROR_UNKNOWN;
    this.grpcCode = grpcCode;
  }
}

/** The connection closed (or the peer died) before the reply came. */
export class ConnectionClosedError extends Error {
  readonly code = 'CONNECTION_CLOSED';
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionClosedError';
  }
}

/** The peer sent something that is not a well-formed frame or message. */
export class ProtocolError extends Error {
  readonly code = 'PROTOCOL_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** A request got no reply within its deadline. */
export class RequestTimeoutError extends Error {
  readonly code = 'REQUEST_TIMEOUT';
  constructor(method: string, timeoutMs: number) {
    super(`${method} got no reply within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** An error that knows its ErrorInfo: thrown by handlers to choose what the caller sees. */
export interface CarriesErrorInfo {
  errorInfo: ErrorInfo;
}

const CODE_TO_TYPE: Record<string, tray.v1.ErrorType> = {
  INVALID_ARGUMENT: ErrorType.INVALID_ARGUMENT,
  ERR_INVALID_ARG_TYPE: ErrorType.INVALID_ARGUMENT,
  ERR_OUT_OF_RANGE: ErrorType.INVALID_ARGUMENT,
  NOT_FOUND: ErrorType.NOT_FOUND,
  ALREADY_EXISTS: ErrorType.ALREADY_EXISTS,
  UNAUTHENTICATED: ErrorType.UNAUTHENTICATED,
  OBJECT_EXISTS: ErrorType.OBJECT_EXISTS,
  OBJECT_NOT_FOUND: ErrorType.OBJECT_NOT_FOUND,
  OBJECT_NOT_SEALED: ErrorType.OBJECT_NOT_SEALED,
  OBJECT_IN_USE: ErrorType.OBJECT_IN_USE,
  OBJECT_STORE_FULL: ErrorType.OBJECT_STORE_FULL,
  OUT_OF_DISK: ErrorType.OUT_OF_DISK,
};

function carriedInfo(err: unknown): ErrorInfo | undefined {
  if (err && typeof err === 'object' && 'errorInfo' in err) return (err as CarriesErrorInfo).errorInfo;
  return undefined;
}

/**
 * The ErrorType `err` travels as, by its code, never its name: the ErrorInfo it carries, a
 * RemoteError's type, its `code` (the object store's OBJECT_STORE_FULL, Node's
 * ERR_INVALID_ARG_TYPE, ...), INVALID_ARGUMENT for a TypeError or RangeError, else INTERNAL. The
 * one place an error is translated to the wire's vocabulary (e.g. "is the store full?").
 */
export function errorTypeOf(err: unknown): tray.v1.ErrorType {
  const info = carriedInfo(err);
  if (info) return info.type ?? ErrorType.ERROR_UNKNOWN;
  if (err instanceof RemoteError) return err.type;
  if (!(err instanceof Error)) return ErrorType.INTERNAL;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code in CODE_TO_TYPE) return CODE_TO_TYPE[code]!;
  if (err instanceof TypeError || err instanceof RangeError) return ErrorType.INVALID_ARGUMENT;
  return ErrorType.INTERNAL;
}

/** What the other side is told about an error thrown by a handler. */
export function toErrorInfo(err: unknown): ErrorInfo {
  const info = carriedInfo(err);
  if (info) return info;
  if (err instanceof RemoteError) return err.info;
  if (err instanceof Error) {
    return { type: errorTypeOf(err), message: err.message, errorClass: err.name, stack: err.stack ?? '' };
  }
  return { type: ErrorType.INTERNAL, message: String(err) };
}

/** Throw this from a handler to send a specific ErrorInfo. */
export function errorWithInfo(info: ErrorInfo): Error & CarriesErrorInfo {
  const err = new Error(info.message ?? '') as Error & CarriesErrorInfo;
  err.errorInfo = info;
  return err;
}
