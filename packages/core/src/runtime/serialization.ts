// Values as bytes: the v8 structured-clone format, with
// - typed arrays, DataViews and Buffers of 4 KiB or more carried out of band, each aligned to 8
//   bytes after the header, so a large one can be written straight into the store and read back
//   as a view over the same memory (zero-copy);
// - ObjectRefs at any depth written as references and listed (the receiver borrows them);
// - remote functions written as their shipped code;
// - errors written with their class name, message, stack, cause and own fields.
// A value that cannot be serialized fails with a SerializationError naming the path to it.
//
// Primitives (numbers, strings, booleans, null, undefined) take a shorter path: primitive-codec.ts.
//
// Layout: 'TRY1' | u32 header length | u32 buffer count | f64 length per buffer | pad to 8 |
//         v8 payload (refs, functions, value, error fields) | pad | buffer 0 | pad | buffer 1 ...
import * as v8 from 'node:v8';
import { IdBytes, type tray } from '@tray/protocol';
import { SerializationError } from '../errors.js';
import { isObjectRef, type ObjectRef } from './object-ref.js';
import { decodePrimitive, encodePrimitive, isPrimitiveEncoding } from './primitive-codec.js';
import type { ErrorFields, OwnerRecord, ValueCodec } from './value-codec.js';
import { type PreparedValue, prepareValue } from './value-walk.js';

const MAGIC = 0x31595254; // 'TRY1' little-endian
const OUT_OF_BAND_MIN_BYTES = 4096;

export enum HostTag {
  VIEW_OUT_OF_BAND = 1,
  VIEW_INLINE = 2,
  REF = 3,
  FUNCTION = 4,
  ERROR = 5,
}

const VIEW_TYPES = [
  Buffer,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
] as const;

function viewTypeIndex(view: ArrayBufferView): number {
  if (Buffer.isBuffer(view)) return 0;
  for (let i = 1; i < VIEW_TYPES.length; i++) {
    if (Object.getPrototypeOf(view) === VIEW_TYPES[i]!.prototype) return i;
  }
  for (let i = 1; i < VIEW_TYPES.length; i++) if (view instanceof VIEW_TYPES[i]!) return i;
  return 2;
}

function makeView(
  type: number,
  buffer: ArrayBufferLike,
  offset: number,
  byteLength: number,
): ArrayBufferView {
  if (type === 0) return Buffer.from(buffer, offset, byteLength);
  if (type === 12) return new DataView(buffer, offset, byteLength);
  const Ctor = VIEW_TYPES[type] as unknown as {
    new (b: ArrayBufferLike, o: number, n: number): ArrayBufferView;
    BYTES_PER_ELEMENT: number;
  };
  if (Ctor === undefined) throw new SerializationError(`corrupt value: unknown view type ${type}`);
  return new Ctor(buffer, offset, byteLength / Ctor.BYTES_PER_ELEMENT);
}

/** The refs of a value, packed: ids back to back, an owner index and a generator flag each. */
interface RefTable {
  owners: OwnerRecord[];
  ids: Uint8Array;
  ownerIndex: Uint32Array;
  fromGenerator: Uint8Array;
}

const ID_BYTES = IdBytes.object;

function packRefs(refs: readonly ObjectRef<unknown>[], codec: ValueCodec): RefTable {
  const owners: OwnerRecord[] = [];
  const index = new Map<tray.v1.IAddress | undefined, number>();
  const ids = Buffer.allocUnsafe(refs.length * ID_BYTES);
  const ownerIndex = new Uint32Array(refs.length);
  const fromGenerator = new Uint8Array(refs.length);
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i]!;
    ids.set(ref.id, i * ID_BYTES);
    let o = index.get(ref.ownerAddress);
    if (o === undefined) {
      o = owners.length;
      owners.push(codec.encodeOwner(ref.ownerAddress));
      index.set(ref.ownerAddress, o);
    }
    ownerIndex[i] = o;
    fromGenerator[i] = ref.fromGenerator ? 1 : 0;
  }
  return { owners, ids, ownerIndex, fromGenerator };
}

function unpackRefs(table: RefTable, codec: ValueCodec): ObjectRef<unknown>[] {
  const n = table.ownerIndex.length;
  // One copy of the ids: the refs must not keep the value's bytes (maybe shared memory) alive.
  const ids = Buffer.from(table.ids);
  const refs: ObjectRef<unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    refs[i] = codec.decodeRef(
      ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES),
      table.owners[table.ownerIndex[i]!]!,
      table.fromGenerator[i] === 1,
    );
  }
  return refs;
}

/** A serialized value before it is laid out: a header and the out-of-band buffers. */
export class SerializedValue {
  constructor(
    readonly header: Buffer,
    readonly buffers: readonly Uint8Array[],
    readonly refs: readonly ObjectRef<unknown>[],
  ) {}

  /** Bytes of the laid-out value: buffers start 8-aligned; nothing pads the end (a primitive's
   *  header is the whole value, and its reader takes every byte it is given). */
  get size(): number {
    if (this.buffers.length === 0) return this.header.length;
    let end = align8(this.header.length);
    for (const b of this.buffers) end = align8(end) + b.byteLength;
    return end;
  }

  /** The laid-out value as [offset, bytes] parts: the header, then each buffer 8-aligned. */
  parts(): Array<[number, Uint8Array]> {
    const out: Array<[number, Uint8Array]> = [[0, this.header]];
    let offset = align8(this.header.length);
    for (const b of this.buffers) {
      out.push([offset, b]);
      offset = align8(offset + b.byteLength);
    }
    return out;
  }

  /** Lay the value out into `target` (at least `size` bytes): one copy per buffer. */
  writeInto(target: Uint8Array): void {
    for (const [offset, bytes] of this.parts()) target.set(bytes, offset);
  }

  toBuffer(): Buffer {
    if (this.buffers.length === 0) return this.header;
    const out = Buffer.alloc(this.size);
    this.writeInto(out);
    return out;
  }
}

/** Rounded up to a multiple of 8. Arithmetic, not `& ~7`: sizes of 2 GiB and more are not int32. */
function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

class ValueSerializer extends v8.Serializer {
  readonly buffers: Uint8Array[] = [];
  constructor(private readonly prepared: PreparedValue) {
    super();
    (
      this as unknown as { _setTreatArrayBufferViewsAsHostObjects(on: boolean): void }
    )._setTreatArrayBufferViewsAsHostObjects(true);
  }

  _writeHostObject(object: object): void {
    const marker = this.prepared.markerOf(object);
    if (marker !== undefined) {
      this.writeUint32(marker.tag);
      this.writeUint32(marker.index);
      return;
    }
    const view = object as ArrayBufferView;
    if (!ArrayBuffer.isView(view)) {
      throw new SerializationError(`${Object.prototype.toString.call(object)} cannot be serialized`);
    }
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    if (view.byteLength >= OUT_OF_BAND_MIN_BYTES) {
      this.writeUint32(HostTag.VIEW_OUT_OF_BAND);
      this.writeUint32(viewTypeIndex(view));
      this.writeUint32(this.buffers.length);
      this.buffers.push(bytes);
    } else {
      this.writeUint32(HostTag.VIEW_INLINE);
      this.writeUint32(viewTypeIndex(view));
      this.writeUint32(view.byteLength);
      this.writeRawBytes(bytes);
    }
  }

  _getDataCloneError = (message: string) => new SerializationError(message);
}

/**
 * Serialize `value`. `label` names it in errors ("argument 1", "the return value of f").
 */
export function serialize(value: unknown, codec: ValueCodec, label = 'the value'): SerializedValue {
  const primitive = encodePrimitive(value);
  if (primitive !== undefined) return new SerializedValue(primitive, NO_BUFFERS, NO_REFS);
  const prepared = prepareValue(value, label, codec);
  const serializer = new ValueSerializer(prepared);
  serializer.writeHeader();
  try {
    serializer.writeValue(packRefs(prepared.refs, codec));
    serializer.writeValue(prepared.functionData);
    serializer.writeValue(prepared.errorFields.length);
    serializer.writeValue(prepared.value);
    serializer.writeValue(prepared.errorFields);
  } catch (err) {
    if (err instanceof SerializationError) throw err;
    throw new SerializationError(`${label} cannot be serialized: ${(err as Error).message}`);
  }
  const payload = serializer.releaseBuffer();
  const buffers = serializer.buffers;
  const prefixLength = align8(12 + 8 * buffers.length);
  const header = Buffer.alloc(prefixLength + payload.length);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(header.length, 4);
  header.writeUInt32LE(buffers.length, 8);
  for (let i = 0; i < buffers.length; i++) header.writeDoubleLE(buffers[i]!.byteLength, 12 + 8 * i);
  payload.copy(header, prefixLength);
  return new SerializedValue(header, buffers, prepared.refs);
}

const NO_BUFFERS: readonly Uint8Array[] = Object.freeze([]);
const NO_REFS: readonly ObjectRef<unknown>[] = Object.freeze([]);
const corrupt = (why: string) => new SerializationError(`corrupt value: ${why}`);

class ValueDeserializer extends v8.Deserializer {
  refs: ObjectRef<unknown>[] = [];
  functions: unknown[] = [];
  errors: Error[] = [];
  constructor(
    payload: Buffer,
    private readonly data: Uint8Array,
    private readonly bufferOffsets: number[],
    private readonly bufferLengths: number[],
  ) {
    super(payload);
  }

  _readHostObject(): unknown {
    const tag = this.readUint32();
    switch (tag) {
      case HostTag.VIEW_OUT_OF_BAND: {
        const type = this.readUint32();
        const index = this.readUint32();
        const offset = this.bufferOffsets[index];
        if (offset === undefined) throw new SerializationError(`corrupt value: no buffer ${index}`);
        return makeView(type, this.data.buffer, this.data.byteOffset + offset, this.bufferLengths[index]!);
      }
      case HostTag.VIEW_INLINE: {
        const type = this.readUint32();
        const length = this.readUint32();
        const copy = new Uint8Array(new ArrayBuffer(length));
        copy.set(this.readRawBytes(length) as unknown as Uint8Array);
        return makeView(type, copy.buffer, 0, length);
      }
      case HostTag.REF:
        return this.refs[this.readUint32()];
      case HostTag.FUNCTION:
        return this.functions[this.readUint32()];
      case HostTag.ERROR:
        return this.errors[this.readUint32()];
      default:
        throw new SerializationError(`corrupt value: unknown tag ${tag}`);
    }
  }
}

/**
 * Read a value. Out-of-band buffers become views over `data` itself (zero-copy) when it is
 * 8-byte aligned; otherwise the value is first copied to aligned memory.
 */
export function deserialize(input: Uint8Array, codec: ValueCodec): unknown {
  let data = input;
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (isPrimitiveEncoding(view)) return decodePrimitive(view, corrupt);
  if (data.byteLength < 12 || view.readUInt32LE(0) !== MAGIC) {
    throw new SerializationError('corrupt value: bad magic');
  }
  const headerLength = view.readUInt32LE(4);
  const count = view.readUInt32LE(8);
  if (count > 0 && data.byteOffset % 8 !== 0) {
    const aligned = Buffer.alloc(data.byteLength);
    aligned.set(data);
    data = aligned;
  }
  const prefixLength = align8(12 + 8 * count);
  const offsets: number[] = [];
  const lengths: number[] = [];
  let offset = align8(headerLength);
  for (let i = 0; i < count; i++) {
    const length = view.readDoubleLE(12 + 8 * i);
    offsets.push(offset);
    lengths.push(length);
    offset = align8(offset + length);
  }
  if (offset > data.byteLength + 7 || headerLength > data.byteLength) {
    throw new SerializationError('corrupt value: truncated');
  }
  const payload = Buffer.from(data.buffer, data.byteOffset + prefixLength, headerLength - prefixLength);
  const d = new ValueDeserializer(payload, data, offsets, lengths);
  d.readHeader();
  d.refs = unpackRefs(d.readValue() as RefTable, codec);
  const functionData = d.readValue() as unknown[];
  d.functions = functionData.map((f) => codec.decodeFunction(f, d.refs));
  const errorCount = (d.readValue() as number) ?? 0;
  d.errors = [];
  for (let i = 0; i < errorCount; i++) d.errors.push(Object.create(Error.prototype));
  const value = d.readValue();
  const fields = d.readValue() as ErrorFields[];
  for (let i = 0; i < fields.length; i++) rebuildError(d.errors[i]!, fields[i]!);
  return value;
}

function rebuildError(target: Error, fields: ErrorFields): void {
  const ctor = (globalThis as Record<string, unknown>)[fields.name];
  const proto =
    typeof ctor === 'function' && ctor.prototype instanceof Error ? ctor.prototype : Error.prototype;
  Object.setPrototypeOf(target, proto);
  Object.defineProperty(target, 'message', { value: fields.message, writable: true, configurable: true });
  if (proto.name !== fields.name) {
    Object.defineProperty(target, 'name', { value: fields.name, writable: true, configurable: true });
  }
  Object.defineProperty(target, 'stack', { value: fields.stack, writable: true, configurable: true });
  if (fields.hasCause) {
    Object.defineProperty(target, 'cause', { value: fields.cause, writable: true, configurable: true });
  }
  Object.assign(target, fields.props);
}

export { isObjectRef };
