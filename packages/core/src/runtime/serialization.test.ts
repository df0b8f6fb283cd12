// Serialization round trips, without processes: structured values, out-of-band buffers (aligned
// views of the bytes they were read from), refs and remote functions through the codec, errors
// with their fields, and SerializationError naming the path to what cannot be serialized.
import { describe, expect, it } from 'vitest';
import { SerializationError } from '../errors.js';
import { ObjectRef } from './object-ref.js';
import { deserialize, serialize } from './serialization.js';
import type { ValueCodec } from './value-codec.js';

const codec: ValueCodec = {
  encodeOwner: () => ({ workerId: 'ab' }),
  decodeRef: (id, owner, fromGenerator) => new ObjectRef(id, { socketPath: owner.workerId }, fromGenerator),
  encodeFunction: () => ({ fn: true }),
  decodeFunction: (d) => d,
};

function roundTrip<T>(value: T): T {
  return deserialize(serialize(value, codec).toBuffer(), codec) as T;
}

describe('serialization', () => {
  it('round-trips structured values', () => {
    const value = { a: [1, 'two', null, undefined], m: new Map([[1, { b: 2n }]]), d: new Date(5), r: /x/g };
    expect(roundTrip(value)).toEqual(value);
  });

  it('carries large typed arrays out of band as aligned views of the serialized bytes', () => {
    const f64 = new Float64Array(1024).map((_, i) => i);
    const buf = Buffer.alloc(5000, 3);
    const serialized = serialize({ f64, buf, small: new Uint16Array([1, 2]) }, codec);
    expect(serialized.buffers).toHaveLength(2);
    const bytes = serialized.toBuffer();
    const back = deserialize(bytes, codec) as { f64: Float64Array; buf: Buffer; small: Uint16Array };
    expect(back.f64).toEqual(f64);
    expect(back.f64.buffer).toBe(bytes.buffer);
    expect(back.f64.byteOffset % 8).toBe(0);
    expect(Buffer.isBuffer(back.buf)).toBe(true);
    expect(back.buf.equals(buf)).toBe(true);
    expect(back.small).toEqual(new Uint16Array([1, 2]));
  });

  it('copies misaligned input before making views', () => {
    const bytes = serialize(new Float64Array(1024).fill(2), codec).toBuffer();
    const shifted = Buffer.alloc(bytes.length + 1);
    bytes.copy(shifted, 1);
    const back = deserialize(shifted.subarray(1), codec) as Float64Array;
    expect(back[1023]).toBe(2);
  });

  it('writes refs at any depth as references and lists them', () => {
    const ref = new ObjectRef(Buffer.alloc(28, 1));
    const serialized = serialize({ deep: [[{ ref }]], again: ref }, codec);
    expect(serialized.refs).toEqual([ref]);
    const back = deserialize(serialized.toBuffer(), codec) as {
      deep: { ref: ObjectRef }[][];
      again: ObjectRef;
    };
    expect(back.deep[0]![0]!.ref.hex()).toBe(ref.hex());
    expect(back.again).toBe(back.deep[0]![0]!.ref);
  });

  it('keeps errors with class, message, cause and own fields', () => {
    const err = Object.assign(new RangeError('out', { cause: new Error('inner') }), { code: 'E1' });
    const back = roundTrip(err);
    expect(back).toBeInstanceOf(RangeError);
    expect(back.message).toBe('out');
    expect((back.cause as Error).message).toBe('inner');
    expect(back.code).toBe('E1');
    class Custom extends Error {
      override name = 'CustomError';
    }
    const custom = roundTrip(new Custom('c'));
    expect(custom).toBeInstanceOf(Error);
    expect(custom.name).toBe('CustomError');
  });

  it('names the path to what cannot be serialized', () => {
    expect(() => serialize({ handler: () => 1 }, codec, 'argument 1')).toThrow(
      new SerializationError(
        'argument 1 .handler: functions cannot be serialized (wrap it with tray.remote() to pass a remote function, or pass data)',
      ),
    );
    expect(() => serialize([1, { s: Symbol('x') }], codec, 'v')).toThrow(
      /v \[1\]\.s: symbols cannot be serialized/,
    );
    expect(() => serialize(new Map([['k', new WeakMap()]]), codec, 'v')).toThrow(
      /WeakMap cannot be serialized/,
    );
  });

  it('round-trips primitives on the short path, and strings with lone surrogates the full way', () => {
    for (const v of [
      0,
      -0,
      1.5,
      Number.NaN,
      -Infinity,
      2 ** 53,
      '',
      'héllo ✓ 𝄞',
      true,
      false,
      null,
      undefined,
    ]) {
      const serialized = serialize(v, codec);
      expect(serialized.size).toBeLessThan(32);
      expect(Object.is(deserialize(serialized.toBuffer(), codec), v)).toBe(true);
    }
    const lone = 'a\uD800b';
    expect(roundTrip(lone)).toBe(lone);
    expect(roundTrip(12n)).toBe(12n);
    expect(() => deserialize(Buffer.from([0x54, 0x52, 0x50, 0x31, 9]), codec)).toThrow(
      /corrupt value: unknown primitive tag 9/,
    );
  });

  it('leaves plain data uncopied and keeps cycles', () => {
    const cyclic: { self?: unknown; n: number } = { n: 1 };
    cyclic.self = cyclic;
    const back = roundTrip(cyclic);
    expect(back.self).toBe(back);
  });
});
