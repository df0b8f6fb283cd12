// The error classes of API.md. Every error tray raises to a user extends TrayError, and every
// class is exported by name. A TaskError is also an instance of the class the task threw (Ray's
// "dual" exception): its prototype chain goes through the original error's class, and
// `instanceof TaskError` / `instanceof TrayError` recognise it by a brand (Symbol.hasInstance).

const TASK_ERROR_BRAND = Symbol.for('tray.TaskError');
const TRAY_ERROR_BRAND = Symbol.for('tray.TrayError');

function hasBrand(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

export class TrayError extends Error {
  declare readonly [TRAY_ERROR_BRAND]: true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    Object.defineProperty(this, TRAY_ERROR_BRAND, { value: true });
  }
}

/** Names the subclasses so a copy of the class from another bundle still matches. */
function named<T extends abstract new (...args: any[]) => TrayError>(cls: T, name: string): T {
  Object.defineProperty(cls, 'errorName', { value: name });
  return cls;
}

/** A task threw. `cause` is the original error; `remoteStack` the stack where it was thrown. */
export class TaskError extends TrayError {
  declare readonly cause: unknown;
  readonly remoteStack: string;
  readonly functionName: string;
  constructor(functionName: string, cause: unknown, remoteStack = '') {
    super(taskErrorMessage(functionName, cause), { cause });
    this.functionName = functionName;
    this.remoteStack = remoteStack;
    Object.defineProperty(this, TASK_ERROR_BRAND, { value: true });
  }
}
named(TaskError, 'TaskError');

/**
 * `instanceof` for the error classes: real instances, instances made by another copy of
 * @tray/core in this process (ESM and CJS), and dual TaskErrors (whose prototype is the cause's).
 */
function errorHasInstance(this: Function & { errorName?: string }, value: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
  if (this === TrayError) return hasBrand(value, TRAY_ERROR_BRAND);
  if (this === TaskError) return hasBrand(value, TASK_ERROR_BRAND);
  return (
    this.errorName !== undefined &&
    hasBrand(value, TRAY_ERROR_BRAND) &&
    (value as Error).name === this.errorName
  );
}
Object.defineProperty(TrayError, Symbol.hasInstance, { value: errorHasInstance });

function taskErrorMessage(functionName: string, cause: unknown): string {
  const what = cause instanceof Error ? `${cause.name}: ${cause.message}` : `threw ${describeThrown(cause)}`;
  return `task ${functionName} failed: ${what}`;
}

function describeThrown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

/**
 * The error a caller sees for a task that threw `cause`: a TaskError that is also an instance of
 * `cause`'s class when `cause` is an object (its prototype chain is the cause's).
 */
export function makeTaskError(functionName: string, cause: unknown, remoteStack: string): TaskError {
  const plain = new TaskError(functionName, cause, remoteStack);
  if (typeof cause !== 'object' || cause === null) return plain;
  const dual = Object.create(Object.getPrototypeOf(cause)) as TaskError;
  Object.defineProperties(dual, {
    name: { value: 'TaskError', writable: true, configurable: true },
    message: { value: plain.message, writable: true, configurable: true },
    cause: { value: cause, writable: true, configurable: true },
    remoteStack: { value: remoteStack, enumerable: true },
    functionName: { value: functionName, enumerable: true },
    stack: {
      value: `${plain.stack ?? ''}\n\nThe remote stack:\n${remoteStack}`,
      writable: true,
      configurable: true,
    },
    [TASK_ERROR_BRAND]: { value: true },
    [TRAY_ERROR_BRAND]: { value: true },
  });
  // Keep the cause's own fields (code, errno, ...) readable on the dual error too.
  for (const key of Object.keys(cause)) {
    if (!(key in dual))
      (dual as unknown as Record<string, unknown>)[key] = (cause as Record<string, unknown>)[key];
  }
  return dual;
}

export class WorkerCrashedError extends TrayError {}
named(WorkerCrashedError, 'WorkerCrashedError');
export class ActorDiedError extends TrayError {}
named(ActorDiedError, 'ActorDiedError');
export class ActorUnavailableError extends TrayError {}
named(ActorUnavailableError, 'ActorUnavailableError');
export class ObjectLostError extends TrayError {}
named(ObjectLostError, 'ObjectLostError');
export class OwnerDiedError extends TrayError {}
named(OwnerDiedError, 'OwnerDiedError');
export class GetTimeoutError extends TrayError {}
named(GetTimeoutError, 'GetTimeoutError');
export class TaskCancelledError extends TrayError {}
named(TaskCancelledError, 'TaskCancelledError');
export class ObjectStoreFullError extends TrayError {
  /** The object store's code for it (@tray/object-store's ObjectStoreFullError has the same): how it is recognised. */
  readonly code = 'OBJECT_STORE_FULL';
}
named(ObjectStoreFullError, 'ObjectStoreFullError');
export class OutOfMemoryError extends TrayError {}
named(OutOfMemoryError, 'OutOfMemoryError');
export class RuntimeEnvSetupError extends TrayError {}
named(RuntimeEnvSetupError, 'RuntimeEnvSetupError');
export class NodeDiedError extends TrayError {}
named(NodeDiedError, 'NodeDiedError');
export class SerializationError extends TrayError {}
named(SerializationError, 'SerializationError');
/** `.remote()` on an actor that already has its maxPendingCalls calls pending from this process. */
export class PendingCallsLimitExceededError extends TrayError {}
named(PendingCallsLimitExceededError, 'PendingCallsLimitExceededError');
