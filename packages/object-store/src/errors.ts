// The object store's typed errors. Defined here, handed to the native addon once at load (so
// C++ throws these very classes), and rebuilt from ErrorInfo on the client side of the socket.
// @tray/core re-exports and extends them as TrayError subclasses.
import { ErrorType, RemoteError } from '@tray/protocol';

/** Base of every object-store error; `code` is stable and travels as common.proto ErrorType. */
export class ObjectStoreError extends Error {
  readonly code: string;
  constructor(message: string, code = 'OBJECT_STORE_ERROR') {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** create() of an id the store already holds (or seal()/abort() of a sealed object). */
export class ObjectExistsError extends ObjectStoreError {
  constructor(message: string) {
    super(message, 'OBJECT_EXISTS');
  }
}

/** The id is not in the store (never created, deleted, evicted, or missing at the deadline). */
export class ObjectNotFoundError extends ObjectStoreError {
  constructor(message: string) {
    super(message, 'OBJECT_NOT_FOUND');
  }
}

/** The object exists but is not sealed yet. */
export class ObjectNotSealedError extends ObjectStoreError {
  constructor(message: string) {
    super(message, 'OBJECT_NOT_SEALED');
  }
}

/** The object is read by some client and the operation needs it unread. */
export class ObjectInUseError extends ObjectStoreError {
  constructor(message: string) {
    super(message, 'OBJECT_IN_USE');
  }
}

/** No room: everything in memory is pinned (read, unsealed, or primary with spilling off). */
export class ObjectStoreFullError extends ObjectStoreError {
  constructor(message: string) {
    super(message, 'OBJECT_STORE_FULL');
  }
}

/** Spilling needed disk space that is not there. */
export class OutOfDiskError extends ObjectStoreError {
  constructor(message: string) {
    super(message, 'OUT_OF_DISK');
  }
}

/** What the native addon throws, by the names it uses. */
export const nativeErrorClasses = {
  ObjectStoreError,
  ObjectExistsError,
  ObjectNotFoundError,
  ObjectNotSealedError,
  ObjectInUseError,
  ObjectStoreFullError,
  OutOfDiskError,
};

const BY_TYPE = new Map<number, new (message: string) => ObjectStoreError>([
  [ErrorType.OBJECT_EXISTS, ObjectExistsError],
  [ErrorType.OBJECT_NOT_FOUND, ObjectNotFoundError],
  [ErrorType.OBJECT_NOT_SEALED, ObjectNotSealedError],
  [ErrorType.OBJECT_IN_USE, ObjectInUseError],
  [ErrorType.OBJECT_STORE_FULL, ObjectStoreFullError],
  [ErrorType.OUT_OF_DISK, OutOfDiskError],
]);

/** Turns a store's error reply back into the typed error it was thrown as. */
export function fromRemote(err: unknown): unknown {
  if (!(err instanceof RemoteError)) return err;
  const cls = BY_TYPE.get(err.type);
  if (cls) return new cls(err.info.message ?? '');
  if (err.type === ErrorType.INVALID_ARGUMENT) return new TypeError(err.info.message ?? 'invalid argument');
  return err;
}
