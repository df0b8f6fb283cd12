// validation.ts's checks for values that cross into a process: the same check fails as
// INVALID_ARGUMENT on the wire and as TypeError / RangeError at a JS API, with one message.
import { describe, expect, it } from 'vitest';
import { ErrorType, errorTypeOf } from './errors.js';
import {
  apiErrors,
  checkByteCount,
  checkBytesLike,
  checkIdBytes,
  checkIdList,
  checkTimeoutMs,
  describeValue,
  wireErrors,
} from './validation.js';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('validation for the wire and for a JS API', () => {
  it('an id of the wrong length: one message, INVALID_ARGUMENT on the wire, TypeError at the API', () => {
    const onWire = thrown(() => checkIdBytes(Buffer.alloc(5), 'node', 'node_id', wireErrors));
    const atApi = thrown(() => checkIdBytes(Buffer.alloc(5), 'node', 'node_id', apiErrors));
    expect(onWire.message).toBe('node_id must be a 28-byte Uint8Array (a node id), got a 5-byte Buffer');
    expect(atApi.message).toBe(onWire.message);
    expect(errorTypeOf(onWire)).toBe(ErrorType.INVALID_ARGUMENT);
    expect(atApi).toBeInstanceOf(TypeError);
    expect(() => checkIdBytes(new Uint8Array(16), 'actor', 'actor_id', wireErrors)).not.toThrow();
  });

  it('id lists name the element that is wrong', () => {
    const ok = Buffer.alloc(28);
    expect(() => checkIdList([ok, ok], 'object', 'ids', apiErrors)).not.toThrow();
    expect(() => checkIdList([ok, 'x'], 'object', 'ids', apiErrors)).toThrow(
      /ids\[1\] must be a 28-byte Uint8Array \(an object id\), got a string/,
    );
    expect(() => checkIdList(ok, 'placementGroup', 'pgs', apiErrors)).toThrow(
      /pgs must be an array of placement group ids, got a 28-byte Buffer/,
    );
  });

  it('byte counts: integers in range; the wrong kind is a TypeError, out of range a RangeError', () => {
    expect(() => checkByteCount(10, 'size', 10, apiErrors)).not.toThrow();
    expect(() => checkByteCount(1.5, 'size', 10, apiErrors)).toThrow(TypeError);
    expect(() => checkByteCount('3', 'size', 10, apiErrors)).toThrow(
      /size must be an integer number of bytes, got a string/,
    );
    expect(() => checkByteCount(11, 'size', 10, apiErrors, 'the limit')).toThrow(RangeError);
    expect(() => checkByteCount(-1, 'size', 10, apiErrors, 'the limit')).toThrow(
      'size must be between 0 and 10 bytes (the limit), got -1',
    );
    expect(errorTypeOf(thrown(() => checkByteCount(2 ** 60, 'size', 10, wireErrors)))).toBe(
      ErrorType.INVALID_ARGUMENT,
    );
  });

  it('timeouts round up; negative and Infinity wait forever; NaN is refused', () => {
    expect(checkTimeoutMs(0, 't', apiErrors)).toBe(0);
    expect(checkTimeoutMs(0.2, 't', apiErrors)).toBe(1);
    expect(checkTimeoutMs(-3, 't', apiErrors)).toBe(-1);
    expect(checkTimeoutMs(Number.POSITIVE_INFINITY, 't', apiErrors)).toBe(-1);
    expect(() => checkTimeoutMs(Number.NaN, 't', apiErrors)).toThrow(
      /t must be a number of milliseconds, got number NaN/,
    );
    expect(errorTypeOf(thrown(() => checkTimeoutMs('soon', 't', wireErrors)))).toBe(
      ErrorType.INVALID_ARGUMENT,
    );
  });

  it('bytes may be any binary view; anything else is named in the message', () => {
    for (const ok of [
      new Uint8Array(2),
      Buffer.alloc(2),
      new ArrayBuffer(2),
      new Float64Array(1),
      new DataView(new ArrayBuffer(1)),
    ]) {
      expect(() => checkBytesLike(ok, 'data', apiErrors)).not.toThrow();
    }
    expect(() => checkBytesLike([1, 2], 'data', apiErrors)).toThrow(
      /data must be a Uint8Array, .* got a Array/,
    );
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
  });
});
