// put, get, wait and cancel of API.md: argument checks that say what was expected, then the
// core worker of this process does the work.

import { requireCore } from '../process/state.js';
import { ObjectRefGenerator } from '../runtime/generator.js';
import { invalidRefReason, isObjectRef, type ObjectRef } from '../runtime/object-ref.js';
import { describeValue } from './describe-value.js';

export interface GetOptions {
  /** Give up after this many milliseconds with GetTimeoutError. */
  timeoutMs?: number;
}

export interface WaitOptions {
  /** How many refs must be ready (default 1). */
  numReturns?: number;
  /** Return what is ready after this many milliseconds. */
  timeoutMs?: number;
  /** Accepted for compatibility; objects on one node are always local. */
  fetchLocal?: boolean;
}

export interface CancelOptions {
  /** Kill the worker running the task (default false). */
  force?: boolean;
  /** Cancel the tasks it submitted too (default true). */
  recursive?: boolean;
}

type Values<T extends readonly unknown[]> = {
  -readonly [K in keyof T]: T[K] extends ObjectRef<infer V> ? V : never;
};

function checkOptions(where: string, options: unknown, allowed: string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`${where}: unknown option ${JSON.stringify(key)} (known: ${allowed.join(', ')})`);
    }
  }
  return options as Record<string, unknown>;
}

/** A forged ref fails at once, saying why, instead of waiting for an object nobody makes. */
function checkRef(where: string, ref: ObjectRef<unknown>, index?: number): void {
  const why = invalidRefReason(ref);
  if (why === undefined) return;
  const which = index === undefined ? 'the ref' : `element ${index}`;
  throw new TypeError(`${where}: ${which} (${ref.hex()}) is not a valid ObjectRef: ${why}`);
}

function checkTimeout(where: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(
      `${where}: timeoutMs must be a non-negative number of milliseconds, got ${describeValue(value)}`,
    );
  }
  return Number.isFinite(value) ? value : undefined;
}

/** Store a value in the object store; resolves to a ref to it. */
export async function put<T>(value: T): Promise<ObjectRef<T>> {
  const core = requireCore('tray.put');
  if (isObjectRef(value)) {
    throw new TypeError(
      'tray.put: the value is already an ObjectRef; pass the ref itself where it is needed',
    );
  }
  return (await core.put(value)) as ObjectRef<T>;
}

/** The value of a ref, or the values of an array of refs in the same order. */
export function get<T>(ref: ObjectRef<T>, options?: GetOptions): Promise<T>;
export function get<const T extends readonly ObjectRef<unknown>[]>(
  refs: T,
  options?: GetOptions,
): Promise<Values<T>>;
export function get<T>(refs: readonly ObjectRef<T>[], options?: GetOptions): Promise<T[]>;
export async function get(refs: unknown, options?: GetOptions): Promise<unknown> {
  const core = requireCore('tray.get');
  const o = checkOptions('tray.get', options, ['timeoutMs']);
  const timeoutMs = checkTimeout('tray.get', o.timeoutMs);
  if (isObjectRef(refs)) {
    checkRef('tray.get', refs);
    return (await core.fetcher.get([refs], timeoutMs))[0];
  }
  if (Array.isArray(refs)) {
    refs.forEach((r, i) => {
      if (!isObjectRef(r)) {
        throw new TypeError(
          `tray.get: expected an array of ObjectRefs, but element ${i} is ${describeValue(r)}`,
        );
      }
      checkRef('tray.get', r, i);
    });
    return core.fetcher.get(refs as ObjectRef<unknown>[], timeoutMs);
  }
  const hint =
    refs instanceof ObjectRefGenerator
      ? ' (iterate the ObjectRefGenerator with for await, then get each ref)'
      : refs instanceof Promise
        ? ' (await the promise first: tray.put returns a Promise of a ref)'
        : '';
  throw new TypeError(
    `tray.get: expected an ObjectRef or an array of ObjectRefs, got ${describeValue(refs)}${hint}`,
  );
}

/** Wait until `numReturns` of the refs are ready (or the timeout); both lists keep input order. */
export async function wait<T>(
  refs: readonly ObjectRef<T>[],
  options?: WaitOptions,
): Promise<{ ready: ObjectRef<T>[]; notReady: ObjectRef<T>[] }> {
  const core = requireCore('tray.wait');
  if (!Array.isArray(refs)) {
    throw new TypeError(`tray.wait: expected an array of ObjectRefs, got ${describeValue(refs)}`);
  }
  const seen = new Set<string>();
  refs.forEach((r, i) => {
    if (!isObjectRef(r)) {
      throw new TypeError(
        `tray.wait: expected an array of ObjectRefs, but element ${i} is ${describeValue(r)}`,
      );
    }
    checkRef('tray.wait', r, i);
    if (seen.has(r.hex()))
      throw new TypeError(`tray.wait: the refs must be distinct; ${r.hex()} appears twice`);
    seen.add(r.hex());
  });
  const o = checkOptions('tray.wait', options, ['numReturns', 'timeoutMs', 'fetchLocal']);
  const timeoutMs = checkTimeout('tray.wait', o.timeoutMs);
  const numReturns = o.numReturns ?? 1;
  if (typeof numReturns !== 'number' || !Number.isInteger(numReturns) || numReturns < 1) {
    throw new TypeError(`tray.wait: numReturns must be a positive integer, got ${describeValue(numReturns)}`);
  }
  // As in Ray, waiting on nothing returns at once with two empty lists.
  if (refs.length === 0) return { ready: [], notReady: [] };
  if (numReturns > refs.length) {
    throw new TypeError(
      `tray.wait: numReturns (${numReturns}) cannot exceed the number of refs (${refs.length})`,
    );
  }
  if (o.fetchLocal !== undefined && typeof o.fetchLocal !== 'boolean') {
    throw new TypeError(`tray.wait: fetchLocal must be a boolean, got ${describeValue(o.fetchLocal)}`);
  }
  return core.fetcher.wait(refs as ObjectRef<unknown>[], numReturns, timeoutMs) as Promise<{
    ready: ObjectRef<T>[];
    notReady: ObjectRef<T>[];
  }>;
}

/** Cancel the task that produces `ref`; getting it then throws TaskCancelledError. */
export async function cancel(ref: ObjectRef<unknown>, options?: CancelOptions): Promise<void> {
  const core = requireCore('tray.cancel');
  if (!isObjectRef(ref)) {
    throw new TypeError(
      `tray.cancel: expected an ObjectRef returned by .remote(), got ${describeValue(ref)}`,
    );
  }
  const o = checkOptions('tray.cancel', options, ['force', 'recursive']);
  for (const key of ['force', 'recursive']) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw new TypeError(`tray.cancel: ${key} must be a boolean, got ${describeValue(o[key])}`);
    }
  }
  await core.launcher.cancel(ref, o.force === true, o.recursive !== false);
}
