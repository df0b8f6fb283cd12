// The fast path of serialization for the values most tasks take and return: undefined, null,
// booleans, numbers and well-formed strings are written as a 5-byte prefix and their bytes, with
// no v8 serializer, ref table or host-object pass (a number argument cost ~18 µs the full way).
// Anything else (objects, bigints, symbols, strings with lone surrogates) is not handled here.
//
// Layout: 'TRP1' | u8 tag | payload (number: f64 LE; string: UTF-8; others: nothing).

/** 'TRP1' little-endian: a value written by this codec (the full format starts with 'TRY1'). */
export const PRIMITIVE_MAGIC = 0x31505254;
const PREFIX = 5;

enum Tag {
  UNDEFINED = 0,
  NULL = 1,
  TRUE = 2,
  FALSE = 3,
  NUMBER = 4,
  STRING = 5,
}

/** String.prototype.isWellFormed (Node 20; not in the ES2023 lib): no lone surrogates. */
interface WellFormed {
  isWellFormed(): boolean;
}

function withTag(tag: Tag, payloadBytes: number): Buffer {
  const out = Buffer.allocUnsafe(PREFIX + payloadBytes);
  out.writeUInt32LE(PRIMITIVE_MAGIC, 0);
  out[4] = tag;
  return out;
}

/** The bytes of `value` if it is a primitive this codec carries; undefined otherwise. */
export function encodePrimitive(value: unknown): Buffer | undefined {
  switch (typeof value) {
    case 'number': {
      const out = withTag(Tag.NUMBER, 8);
      out.writeDoubleLE(value, PREFIX);
      return out;
    }
    case 'string': {
      if (!(value as unknown as WellFormed).isWellFormed()) return undefined;
      const out = withTag(Tag.STRING, Buffer.byteLength(value, 'utf8'));
      out.write(value, PREFIX, 'utf8');
      return out;
    }
    case 'boolean':
      return withTag(value ? Tag.TRUE : Tag.FALSE, 0);
    case 'undefined':
      return withTag(Tag.UNDEFINED, 0);
    case 'object':
      return value === null ? withTag(Tag.NULL, 0) : undefined;
    default:
      return undefined;
  }
}

/** True when `data` (at least 4 bytes) was written by encodePrimitive. */
export function isPrimitiveEncoding(data: Buffer): boolean {
  return data.byteLength >= PREFIX && data.readUInt32LE(0) === PRIMITIVE_MAGIC;
}

/** The value of bytes written by encodePrimitive; `corrupt` makes the error for corrupt bytes. */
export function decodePrimitive(data: Buffer, corrupt: (why: string) => Error): unknown {
  switch (data[4]) {
    case Tag.NUMBER:
      if (data.byteLength !== PREFIX + 8) throw corrupt('a number must have 8 bytes');
      return data.readDoubleLE(PREFIX);
    case Tag.STRING:
      return data.toString('utf8', PREFIX);
    case Tag.TRUE:
      return true;
    case Tag.FALSE:
      return false;
    case Tag.NULL:
      return null;
    case Tag.UNDEFINED:
      return undefined;
    default:
      throw corrupt(`unknown primitive tag ${data[4]}`);
  }
}
