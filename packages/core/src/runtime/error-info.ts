// Errors across processes: a task's exception becomes an ErrorInfo (class name, message, remote
// stack and the serialized original), and an ErrorInfo becomes the typed error of API.md that
// the caller sees — TaskError (dual with the original's class), WorkerCrashedError, and so on.
import { ErrorType, type tray } from '@tray/protocol';
import {
  ActorDiedError,
  ActorUnavailableError,
  GetTimeoutError,
  makeTaskError,
  NodeDiedError,
  ObjectLostError,
  ObjectStoreFullError,
  OutOfMemoryError,
  OwnerDiedError,
  RuntimeEnvSetupError,
  SerializationError,
  TaskCancelledError,
  TrayError,
  WorkerCrashedError,
} from '../errors.js';
import { deserialize, serialize } from './serialization.js';
import type { ValueCodec } from './value-codec.js';

/** What a worker reports for a task that threw `thrown`. */
export function errorInfoFromThrown(
  thrown: unknown,
  functionName: string,
  codec: ValueCodec,
): tray.v1.IErrorInfo {
  const isError = thrown instanceof Error;
  let serialized: Uint8Array | undefined;
  try {
    serialized = serialize(thrown, codec, 'the error').toBuffer();
  } catch {
    serialized = undefined;
  }
  return {
    type: ErrorType.TASK_EXECUTION_EXCEPTION,
    message: isError ? thrown.message : String(thrown),
    errorClass: isError ? thrown.name : typeof thrown,
    stack: isError ? (thrown.stack ?? '') : '',
    serializedError: serialized,
    functionName,
  };
}

/** The error a user sees for `info`. */
export function errorFromInfo(info: tray.v1.IErrorInfo, codec: ValueCodec): Error {
  const message = info.message ?? 'unknown error';
  switch (info.type) {
    case ErrorType.TASK_EXECUTION_EXCEPTION: {
      let cause: unknown;
      if (info.serializedError && info.serializedError.length > 0) {
        try {
          cause = deserialize(info.serializedError, codec);
        } catch {
          cause = undefined;
        }
      }
      if (cause === undefined) {
        cause = new Error(message);
        (cause as Error).name = info.errorClass || 'Error';
        (cause as Error).stack = info.stack ?? '';
      }
      return makeTaskError(info.functionName || 'task', cause, info.stack ?? '');
    }
    case ErrorType.WORKER_DIED:
      return new WorkerCrashedError(message);
    case ErrorType.TASK_CANCELLED:
      return new TaskCancelledError(message);
    case ErrorType.OBJECT_LOST:
      return new ObjectLostError(message);
    case ErrorType.OWNER_DIED:
      return new OwnerDiedError(message);
    case ErrorType.GET_TIMEOUT:
      return new GetTimeoutError(message);
    case ErrorType.OBJECT_STORE_FULL:
      return new ObjectStoreFullError(message);
    case ErrorType.OUT_OF_MEMORY:
      return new OutOfMemoryError(message);
    case ErrorType.RUNTIME_ENV_SETUP_FAILED:
      return new RuntimeEnvSetupError(message);
    case ErrorType.NODE_DIED:
      return new NodeDiedError(message);
    case ErrorType.SERIALIZATION_ERROR:
      return new SerializationError(message);
    case ErrorType.ACTOR_DIED:
      return new ActorDiedError(message);
    case ErrorType.ACTOR_UNAVAILABLE:
      return new ActorUnavailableError(message);
    default:
      return new TrayError(message);
  }
}

/** An ErrorInfo for a failure that is tray's, not the task's (crash, cancel, lost object). */
export function systemError(type: tray.v1.ErrorType, message: string): tray.v1.IErrorInfo {
  return { type, message };
}
