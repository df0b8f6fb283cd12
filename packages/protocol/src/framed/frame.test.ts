// The frame codec alone: frames split at every byte boundary or packed many to a chunk come
// out whole and in order; headers no tray peer would send are refused before any payload.
import { describe, expect, it } from 'vitest';
import { encodeFrame, type Frame, FrameDecoder, FrameError, FrameKind, MAX_HELLO_BYTES } from './frame.js';

const frames = [
  encodeFrame(FrameKind.REQUEST, 0xdeadbeef, 1, Buffer.from('hello')),
  encodeFrame(FrameKind.RESPONSE, 7, 0xffffffff, Buffer.alloc(0)),
  encodeFrame(FrameKind.NOTIFY, 9, 0, Buffer.alloc(3000, 0xab)),
];
const stream = Buffer.concat(frames);

function decodeAll(chunks: Buffer[], decoder = new FrameDecoder(1 << 20)): Frame[] {
  const out: Frame[] = [];
  for (const chunk of chunks) decoder.push(chunk, out);
  return out.map((f) => ({ ...f, payload: Buffer.from(f.payload) }));
}

describe('FrameDecoder', () => {
  const expected = decodeAll([stream]);

  it('decodes frames packed in one chunk', () => {
    expect(expected.map((f) => [f.kind, f.method, f.requestId, f.payload.length])).toEqual([
      [FrameKind.REQUEST, 0xdeadbeef, 1, 5],
      [FrameKind.RESPONSE, 7, 0xffffffff, 0],
      [FrameKind.NOTIFY, 9, 0, 3000],
    ]);
    expect(expected[0]!.payload.toString()).toBe('hello');
  });

  it('decodes the same frames fed one byte at a time, or in uneven slices', () => {
    const bytes = Array.from(stream, (b) => Buffer.from([b]));
    expect(decodeAll(bytes)).toEqual(expected);
    const slices: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 17) slices.push(stream.subarray(i, i + 17));
    expect(decodeAll(slices)).toEqual(expected);
  });

  it('assembles a 32 MiB frame that arrives in 64 KiB chunks', () => {
    const payload = Buffer.alloc(32 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = (i / 4096) & 0xff;
    const frame = encodeFrame(FrameKind.RESPONSE, 3, 4, payload);
    const decoder = new FrameDecoder(64 * 1024 * 1024);
    const out: Frame[] = [];
    for (let i = 0; i < frame.length; i += 64 * 1024) {
      decoder.push(frame.subarray(i, i + 64 * 1024), out);
      if (i + 64 * 1024 < frame.length) expect(out).toHaveLength(0);
    }
    expect(out).toHaveLength(1);
    expect(Buffer.compare(out[0]!.payload, payload)).toBe(0);
  });

  it('refuses an unknown kind, a short length and an oversized payload', () => {
    const bad = Buffer.from(frames[0]!);
    bad[4] = 99;
    expect(() => decodeAll([bad])).toThrow(/unknown frame kind 99/);
    const short = Buffer.from(frames[0]!);
    short.writeUInt32LE(3, 0);
    expect(() => decodeAll([short])).toThrow(/shorter than its header/);
    const big = encodeFrame(FrameKind.REQUEST, 1, 1, Buffer.alloc(2048));
    expect(() => decodeAll([big.subarray(0, 16)], new FrameDecoder(1024))).toThrow(
      /frame of 2048 bytes exceeds the limit of 1024 bytes/,
    );
  });

  it('while waiting for the token, accepts only a short HELLO, judged by its header', () => {
    const decoder = new FrameDecoder(1 << 20);
    decoder.helloOnly = true;
    const request = encodeFrame(FrameKind.REQUEST, 1, 1, Buffer.alloc(10));
    let err: unknown;
    try {
      decodeAll([request.subarray(0, 16)], decoder);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).unauthenticated).toBe(true);
    const longHello = new FrameDecoder(1 << 20);
    longHello.helloOnly = true;
    const hello = encodeFrame(FrameKind.HELLO, 0, 0, Buffer.alloc(MAX_HELLO_BYTES + 1));
    expect(() => decodeAll([hello.subarray(0, 16)], longHello)).toThrow(/HELLO/);
    const ok = new FrameDecoder(1 << 20);
    ok.helloOnly = true;
    const both = Buffer.concat([encodeFrame(FrameKind.HELLO, 0, 0, Buffer.from('token')), request]);
    expect(decodeAll([both], ok).map((f) => f.kind)).toEqual([FrameKind.HELLO, FrameKind.REQUEST]);
  });
});
