import { describe, expect, it } from 'vitest';
import { checkObjectId, checkSize, checkTimeout, idKey } from './validate.js';

describe('validate', () => {
  it('object ids are 28-byte Uint8Arrays', () => {
    expect(() => checkObjectId(new Uint8Array(28))).not.toThrow();
    expect(() => checkObjectId(Buffer.alloc(28))).not.toThrow();
    expect(() => checkObjectId(new Uint8Array(20), 'objectId')).toThrow(/objectId must be a 28-byte/);
    expect(() => checkObjectId([1, 2, 3])).toThrow(TypeError);
  });

  it('sizes are safe non-negative integers up to a maximum', () => {
    expect(() => checkSize(0, 'n', 10)).not.toThrow();
    expect(() => checkSize(10, 'n', 10)).not.toThrow();
    expect(() => checkSize(11, 'n', 10)).toThrow(RangeError);
    expect(() => checkSize(-1, 'n', 10)).toThrow(RangeError);
    expect(() => checkSize(0.5, 'n', 10)).toThrow(TypeError);
    expect(() => checkSize(Number.POSITIVE_INFINITY, 'n', 10)).toThrow(TypeError);
  });

  it('timeouts: negative and Infinity wait forever', () => {
    expect(checkTimeout(0)).toBe(0);
    expect(checkTimeout(1.2)).toBe(2);
    expect(checkTimeout(-5)).toBe(-1);
    expect(checkTimeout(Number.POSITIVE_INFINITY)).toBe(-1);
    expect(() => checkTimeout(Number.NaN)).toThrow(TypeError);
  });

  it('id keys are exact', () => {
    const a = new Uint8Array(28);
    const b = new Uint8Array(28);
    b[27] = 1;
    expect(idKey(a)).not.toBe(idKey(b));
    expect(idKey(a)).toBe(idKey(new Uint8Array(28)));
  });
});
