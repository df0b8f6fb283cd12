// How tray's one error channel (ErrorInfo, common.proto) rides on gRPC: a status code chosen
// from the ErrorType, the message as the status details, and the whole ErrorInfo serialized in
// the `tray-error-bin` trailer. A client turns any failed call back into a RemoteError; a
// status with no trailer (the transport failed, not a handler) gets an ErrorType from its code.
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { tray } from '../../generated/proto.js';
import { type ErrorInfo, ErrorType, RemoteError } from '../errors.js';
import { grpcJs } from './grpc-js.js';
import { type GrpcStatusCode, grpcStatusName, GrpcStatus as status } from './status-codes.js';

/** The trailer that carries a serialized ErrorInfo. */
export const ERROR_TRAILER = 'tray-error-bin';

const TYPE_TO_STATUS: Partial<Record<tray.v1.ErrorType, GrpcStatusCode>> = {
  [ErrorType.INVALID_ARGUMENT]: status.INVALID_ARGUMENT,
  [ErrorType.SERIALIZATION_ERROR]: status.INVALID_ARGUMENT,
  [ErrorType.NOT_FOUND]: status.NOT_FOUND,
  [ErrorType.OBJECT_NOT_FOUND]: status.NOT_FOUND,
  [ErrorType.ALREADY_EXISTS]: status.ALREADY_EXISTS,
  [ErrorType.OBJECT_EXISTS]: status.ALREADY_EXISTS,
  [ErrorType.UNAUTHENTICATED]: status.UNAUTHENTICATED,
  [ErrorType.OBJECT_STORE_FULL]: status.RESOURCE_EXHAUSTED,
  [ErrorType.OUT_OF_MEMORY]: status.RESOURCE_EXHAUSTED,
  [ErrorType.OUT_OF_DISK]: status.RESOURCE_EXHAUSTED,
  [ErrorType.PENDING_CALLS_LIMIT_EXCEEDED]: status.RESOURCE_EXHAUSTED,
  [ErrorType.OBJECT_NOT_SEALED]: status.FAILED_PRECONDITION,
  [ErrorType.OBJECT_IN_USE]: status.FAILED_PRECONDITION,
  [ErrorType.TASK_CANCELLED]: status.CANCELLED,
  [ErrorType.GET_TIMEOUT]: status.DEADLINE_EXCEEDED,
  [ErrorType.DEADLINE_EXCEEDED]: status.DEADLINE_EXCEEDED,
  [ErrorType.UNAVAILABLE]: status.UNAVAILABLE,
  [ErrorType.UNIMPLEMENTED]: status.UNIMPLEMENTED,
};

const STATUS_TO_TYPE: Partial<Record<number, tray.v1.ErrorType>> = {
  [status.INVALID_ARGUMENT]: ErrorType.INVALID_ARGUMENT,
  [status.OUT_OF_RANGE]: ErrorType.INVALID_ARGUMENT,
  [status.NOT_FOUND]: ErrorType.NOT_FOUND,
  [status.ALREADY_EXISTS]: ErrorType.ALREADY_EXISTS,
  [status.UNAUTHENTICATED]: ErrorType.UNAUTHENTICATED,
  [status.PERMISSION_DENIED]: ErrorType.UNAUTHENTICATED,
  [status.RESOURCE_EXHAUSTED]: ErrorType.PENDING_CALLS_LIMIT_EXCEEDED,
  [status.CANCELLED]: ErrorType.TASK_CANCELLED,
  [status.DEADLINE_EXCEEDED]: ErrorType.DEADLINE_EXCEEDED,
  [status.UNAVAILABLE]: ErrorType.UNAVAILABLE,
  [status.UNIMPLEMENTED]: ErrorType.UNIMPLEMENTED,
  [status.INTERNAL]: ErrorType.INTERNAL,
  [status.DATA_LOSS]: ErrorType.INTERNAL,
};

/** The status object a grpc-js handler fails with, carrying `info` in its trailer. */
export function statusFromErrorInfo(info: ErrorInfo): {
  code: GrpcStatusCode;
  details: string;
  metadata: Metadata;
} {
  const metadata = new (grpcJs().Metadata)();
  metadata.set(ERROR_TRAILER, Buffer.from(tray.v1.ErrorInfo.encode(info).finish()));
  return {
    code: TYPE_TO_STATUS[info.type ?? ErrorType.ERROR_UNKNOWN] ?? status.UNKNOWN,
    details: info.message ?? '',
    metadata,
  };
}

/** True when a failed call carries an ErrorInfo, i.e. a handler answered it. */
export function hasErrorInfo(err: Partial<ServiceError>): boolean {
  return (err.metadata?.get(ERROR_TRAILER).length ?? 0) > 0;
}

/** The RemoteError a client rejects with for a failed gRPC call. */
export function remoteErrorFromStatus(err: Partial<ServiceError>, method: string): RemoteError {
  const code = err.code ?? status.UNKNOWN;
  const trailer = err.metadata?.get(ERROR_TRAILER)[0];
  if (trailer instanceof Uint8Array) {
    try {
      return new RemoteError(tray.v1.ErrorInfo.decode(trailer), code);
    } catch {
      // An undecodable trailer is no better than none: fall through to the status code.
    }
  }
  const details = err.details || err.message || 'no details';
  return new RemoteError(
    {
      type: STATUS_TO_TYPE[code] ?? ErrorType.ERROR_UNKNOWN,
      message: `${method} failed with gRPC status ${grpcStatusName(code)}: ${details}`,
    },
    code,
  );
}
