// The walk before serialization: finds the ObjectRefs, remote functions and errors inside a
// value and replaces them with markers the serializer writes as references, and rejects what
// cannot be serialized (plain functions, symbols, promises, weak collections) with an error that
// names the path to it. Copy-on-write: a value with nothing to replace is returned as is, so
// plain data (and large arrays of numbers) is never copied.
import { SerializationError } from '../errors.js';
import { isObjectRef, type ObjectRef } from './object-ref.js';
import type { ErrorFields, ValueCodec } from './value-codec.js';

const REMOTE_FUNCTION_BRAND = Symbol.for('tray.RemoteFunction');

/** True for what `tray.remote` returns (from any copy of @tray/core). */
export function isRemoteFunction(value: unknown): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    (value as Record<symbol, unknown>)[REMOTE_FUNCTION_BRAND] === true
  );
}

export { REMOTE_FUNCTION_BRAND };

/** Stands in for a reference, a function or an error; the serializer writes its tag and index. */
class Marker extends Uint8Array {
  constructor(
    readonly tag: number,
    readonly index: number,
  ) {
    super(0);
  }
}

export interface PreparedValue {
  value: unknown;
  refs: ObjectRef<unknown>[];
  functionData: unknown[];
  errorFields: ErrorFields[];
  markerOf(object: object): { tag: number; index: number } | undefined;
}

// Tags shared with serialization.ts's HostTag (kept numeric here to avoid an import cycle).
const TAG_REF = 3;
const TAG_FUNCTION = 4;
const TAG_ERROR = 5;

export function prepareValue(value: unknown, label: string, codec: ValueCodec): PreparedValue {
  const refs: ObjectRef<unknown>[] = [];
  const refIndex = new Map<string, Marker>();
  const functionData: unknown[] = [];
  const errorFields: ErrorFields[] = [];
  const done = new Map<object, unknown>();

  const fail = (path: string, what: string): never => {
    const where = path === '' ? label : `${label} ${path}`;
    throw new SerializationError(`${where}: ${what}`);
  };

  const walk = (v: unknown, path: string): unknown => {
    switch (typeof v) {
      case 'function':
        if (isRemoteFunction(v)) return functionMarker(v as object);
        return fail(
          path,
          'functions cannot be serialized (wrap it with tray.remote() to pass a remote function, or pass data)',
        );
      case 'symbol':
        return fail(path, 'symbols cannot be serialized');
      case 'object':
        break;
      default:
        return v;
    }
    if (v === null || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v;
    const seen = done.get(v);
    if (seen !== undefined) return seen;
    if (isObjectRef(v)) return refMarker(v);
    if (isRemoteFunction(v)) return functionMarker(v);
    if (v instanceof Error) return errorMarker(v, path);
    if (v instanceof Promise)
      return fail(path, 'promises cannot be serialized (await it, or pass an ObjectRef)');
    if (v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef) {
      return fail(path, `a ${v.constructor.name} cannot be serialized`);
    }
    if (v instanceof Date || v instanceof RegExp || v instanceof SharedArrayBuffer) return v;
    // Placeholder while the children are walked: a cycle back to `v` keeps the original.
    done.set(v, v);
    let result: unknown = v;
    if (Array.isArray(v)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (
          item === null ||
          (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol')
        ) {
          if (copy !== undefined) copy[i] = item;
          continue;
        }
        const next = walk(item, `${path}[${i}]`);
        if (next !== item && copy === undefined) copy = v.slice(0, i);
        if (copy !== undefined) copy[i] = next;
      }
      if (copy !== undefined) result = copy;
    } else if (v instanceof Map) {
      let changed = false;
      const entries: [unknown, unknown][] = [];
      for (const [k, item] of v) {
        const nk = walk(k, `${path}.<key>`);
        const nv = walk(item, `${path}.get(${typeof k === 'string' ? JSON.stringify(k) : '…'})`);
        if (nk !== k || nv !== item) changed = true;
        entries.push([nk, nv]);
      }
      if (changed) result = new Map(entries);
    } else if (v instanceof Set) {
      let changed = false;
      const items: unknown[] = [];
      for (const item of v) {
        const next = walk(item, `${path}.<item>`);
        if (next !== item) changed = true;
        items.push(next);
      }
      if (changed) result = new Set(items);
    } else {
      let copy: Record<string, unknown> | undefined;
      const keys = Object.keys(v);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const item = (v as Record<string, unknown>)[key];
        const next = walk(item, `${path}.${key}`);
        if (next !== item && copy === undefined) {
          copy = {};
          for (let j = 0; j < i; j++) copy[keys[j]!] = (v as Record<string, unknown>)[keys[j]!];
        }
        if (copy !== undefined) copy[key] = next;
      }
      if (copy !== undefined) result = copy;
    }
    done.set(v, result);
    return result;
  };

  const refMarker = (ref: ObjectRef<unknown>): Marker => {
    const key = ref.hex();
    let marker = refIndex.get(key);
    if (marker === undefined) {
      marker = new Marker(TAG_REF, refs.length);
      refIndex.set(key, marker);
      refs.push(ref);
    }
    return marker;
  };

  const functionMarker = (fn: object): Marker => {
    const marker = new Marker(TAG_FUNCTION, functionData.length);
    done.set(fn, marker);
    functionData.push(codec.encodeFunction(fn, (ref) => refMarker(ref).index));
    return marker;
  };

  const errorMarker = (err: Error, path: string): Marker => {
    const marker = new Marker(TAG_ERROR, errorFields.length);
    done.set(err, marker);
    const fields: ErrorFields = {
      name: err.name,
      message: err.message,
      stack: err.stack,
      hasCause: 'cause' in err,
      props: {},
    };
    errorFields.push(fields);
    if (fields.hasCause) fields.cause = safeWalk(err.cause, `${path}.cause`);
    for (const key of Object.keys(err)) {
      if (key === 'cause' || key === 'message' || key === 'stack' || key === 'name') continue;
      const item = safeWalk((err as unknown as Record<string, unknown>)[key], `${path}.${key}`);
      if (item !== undefined) fields.props[key] = item;
    }
    return marker;
  };

  // An error's extra fields are best effort: one that cannot travel is dropped, not fatal.
  const safeWalk = (v: unknown, path: string): unknown => {
    try {
      return walk(v, path);
    } catch {
      return undefined;
    }
  };

  const prepared = walk(value, '');
  const markers = new Set<object>();
  return {
    value: prepared,
    refs,
    functionData,
    errorFields,
    markerOf(object: object) {
      if (object instanceof Marker) {
        markers.add(object);
        return { tag: object.tag, index: object.index };
      }
      return undefined;
    },
  };
}
