// Round trip of every message of proto/tray/v1 through the generated code: encode → decode must
// give back every field. The message list and field types come from protobufjs reflection over
// the .proto files, so a message added to proto/ is covered without touching this test.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { tray } from '../generated/proto.js';
import { type MessageType, services } from './index.js';

const protoRoot = join(import.meta.dirname, '../../../proto');

function loadReflection(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(protoRoot, target));
  const files = readdirSync(join(protoRoot, 'tray/v1')).filter((f) => f.endsWith('.proto'));
  root.loadSync(files.map((f) => `tray/v1/${f}`));
  root.resolveAll();
  return root;
}

function allMessageTypes(ns: protobuf.NamespaceBase, out: protobuf.Type[] = []): protobuf.Type[] {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) out.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) allMessageTypes(nested, out);
  }
  return out;
}

/** The generated static class of a reflected type: `tray.v1.Outer.Inner`. */
function staticClass(type: protobuf.Type): MessageType<Record<string, unknown>> | undefined {
  let node: unknown = { tray };
  for (const part of type.fullName.replace(/^\./, '').split('.'))
    node = (node as Record<string, unknown>)?.[part];
  return node as MessageType<Record<string, unknown>> | undefined;
}

/** A non-default value of a scalar or enum field type; `salt` varies it between fields. */
function scalarValue(field: protobuf.Field, salt: number): unknown {
  if (field.resolvedType instanceof protobuf.Enum) {
    const values = Object.values(field.resolvedType.values);
    return values[values.length - 1 - (salt % Math.max(1, values.length - 1))];
  }
  switch (field.type) {
    case 'double':
      return 1.5 + salt;
    case 'float':
      return 0.25 + salt;
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return -7 - salt;
    case 'uint32':
    case 'fixed32':
      return 4_000_000_000 - salt;
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return -(2 ** 40) - salt;
    case 'uint64':
    case 'fixed64':
      return 2 ** 45 + salt;
    case 'bool':
      return true;
    case 'string':
      return `s${salt}-é✓`;
    case 'bytes':
      return Buffer.from([salt & 0xff, 0, 255, 7]);
    default:
      throw new Error(`no sample value for field type ${field.type}`);
  }
}

/**
 * A message with every field set to a non-default value. `variant` picks which member of each
 * oneof is set, so that every member is covered by some variant. Nested messages stop at
 * `depth` to end recursive types.
 */
function sample(type: protobuf.Type, variant: number, depth: number): Record<string, unknown> {
  const message: Record<string, unknown> = {};
  const chosen = new Set<protobuf.Field>();
  for (const oneof of type.oneofsArray) {
    const members = oneof.fieldsArray;
    chosen.add(oneof.name.startsWith('_') ? members[0]! : members[variant % members.length]!);
  }
  let salt = variant;
  for (const field of type.fieldsArray) {
    salt++;
    if (field.partOf && !chosen.has(field)) continue;
    const one = (s: number): unknown =>
      field.resolvedType instanceof protobuf.Type
        ? sample(field.resolvedType, variant, depth - 1)
        : scalarValue(field, s);
    if (field.resolvedType instanceof protobuf.Type && depth <= 0) continue;
    if (field instanceof protobuf.MapField) {
      if (field.keyType !== 'string') throw new Error(`add sample keys for map<${field.keyType}, ...>`);
      message[field.name] = { a: one(salt), b: one(salt + 1) };
    } else if (field.repeated) {
      message[field.name] = [one(salt), one(salt + 1)];
    } else {
      message[field.name] = one(salt);
    }
  }
  return message;
}

/** Own enumerable fields as plain data; bytes as arrays, empty collections dropped. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (Array.isArray(v) && v.length === 0) continue;
      // An empty map, or a nested message with no field set, says nothing either way.
      if (isEmptyRecord(v)) continue;
      out[k] = plain(v);
    }
    return out;
  }
  return value;
}

function isEmptyRecord(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && Object.keys(v).length === 0;
}

const reflection = loadReflection();
const types = allMessageTypes(reflection).filter((t) => t.fullName.startsWith('.tray.v1.'));

describe('every message of proto/tray/v1 round-trips through the generated code', () => {
  it('finds the messages and their generated classes', () => {
    expect(types.length).toBeGreaterThan(150);
    const missing = types.filter((t) => typeof staticClass(t)?.encode !== 'function').map((t) => t.fullName);
    expect(missing).toEqual([]);
  });

  it.each(types.map((t) => [t.fullName.replace(/^\.tray\.v1\./, ''), t] as const))('%s', (_name, type) => {
    const cls = staticClass(type)!;
    const variants = Math.max(1, ...type.oneofsArray.map((o) => o.fieldsArray.length));
    for (let variant = 0; variant < variants; variant++) {
      const message = sample(type, variant, 3);
      const bytes = cls.encode(message).finish();
      if (type.fieldsArray.length > 0) expect(bytes.length).toBeGreaterThan(0);
      const decoded = cls.decode(bytes);
      expect(plain(decoded)).toEqual(plain(message));
      // What reflection encodes from the same message, the generated code decodes alike.
      expect(Array.from(type.encode(type.fromObject(message)).finish()).length).toBe(bytes.length);
    }
  });

  it('every service method names messages that round-trip', () => {
    let methods = 0;
    for (const table of Object.values(services)) {
      for (const method of Object.values(table)) {
        methods++;
        expect(method.decodeRequest(method.encodeRequest({}))).toBeDefined();
        expect(method.decodeResponse(method.encodeResponse({}))).toBeDefined();
      }
    }
    expect(methods).toBeGreaterThan(40);
  });
});
