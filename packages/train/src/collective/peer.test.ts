// What a member does with the frames a peer sends, over a real loopback connection: a body split
// in any chunks lands in the receive posted for it, or is kept until the receive is posted; a
// header that is malformed (unknown kind, oversize, not whole elements), out of order, or not the
// frame the operation expects (another operation, type or length) fails the connection with a
// message naming what was wrong; the connection closing does too.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Expect, Peer } from './peer.js';
import { encodeHeader, type FrameHeader, kindCode, MAX_FRAME_BYTES } from './wire.js';

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A Peer (rank 1) on one end of a loopback connection, and the raw other end. */
async function pair(): Promise<{ peer: Peer; raw: Socket; failures: string[]; failed: Promise<string> }> {
  const failures: string[] = [];
  let onFail: (d: string) => void = () => {};
  const failed = new Promise<string>((resolve) => (onFail = resolve));
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer((s) => resolve(s));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  const raw = connect((server!.address() as { port: number }).port, '127.0.0.1');
  const mine = await accepted;
  sockets.push(raw, mine);
  const peer = new Peer(1, mine, Buffer.alloc(0), {
    fail: (rank, detail) => {
      failures.push(`rank ${rank}: ${detail}`);
      onFail(`rank ${rank}: ${detail}`);
    },
    abort: () => {},
  });
  return { peer, raw, failures, failed };
}

const f32Frame = (seq: number, step: number, values: number[], kind = kindCode('allReduce')): Buffer => {
  const body = Buffer.from(new Float32Array(values).buffer);
  const h: FrameHeader = { kind, dtype: 1, seq, step, byteLength: body.length, elements: values.length };
  return Buffer.concat([encodeHeader(h), body]);
};
const expectF32 = (elements: number, op = 'allReduce #1'): Expect => ({
  kind: kindCode('allReduce'),
  dtype: 1,
  elements,
  byteLength: 0,
  op,
});

describe('Peer', () => {
  it('fills a posted receive from a frame written one byte at a time', async () => {
    const { peer, raw } = await pair();
    const dest = new Float32Array(3);
    const got = peer.recv(1, 0, expectF32(3), new Uint8Array(dest.buffer));
    for (const byte of f32Frame(1, 0, [1.5, -2, 3])) raw.write(Buffer.from([byte]));
    await got;
    expect(Array.from(dest)).toEqual([1.5, -2, 3]);
  });

  it('keeps a frame that arrives before its receive, then delivers it', async () => {
    const { peer, raw } = await pair();
    raw.write(Buffer.concat([f32Frame(1, 0, [1]), f32Frame(2, 0, [7, 8])]));
    const first = new Float32Array(1);
    await peer.recv(1, 0, expectF32(1), new Uint8Array(first.buffer));
    peer.doneSeq = 1;
    const second = new Float32Array(2);
    await peer.recv(2, 0, expectF32(2, 'allReduce #2'), new Uint8Array(second.buffer));
    expect([...first, ...second]).toEqual([1, 7, 8]);
  });

  const bad: [string, () => Buffer, RegExp][] = [
    [
      'an unknown kind',
      () => encodeHeader({ kind: 9, dtype: 1, seq: 1, step: 0, byteLength: 0, elements: 0 }),
      /rank 1: it sent a frame of unknown kind 9/,
    ],
    [
      'an oversize frame',
      () =>
        encodeHeader({ kind: 1, dtype: 1, seq: 1, step: 0, byteLength: MAX_FRAME_BYTES + 4, elements: 1 }),
      /a frame of 4194308 bytes \(at most 4194304\)/,
    ],
    [
      'a body of part of an element',
      () => encodeHeader({ kind: 1, dtype: 2, seq: 1, step: 0, byteLength: 12, elements: 1 }),
      /a Float64Array frame of 12 bytes \(not whole elements\)/,
    ],
    [
      'nonzero reserved bytes',
      () => {
        const b = encodeHeader({ kind: 1, dtype: 1, seq: 1, step: 0, byteLength: 0, elements: 0 });
        b.writeUInt16LE(5, 2);
        return b;
      },
      /nonzero reserved bytes/,
    ],
    [
      'a step out of order',
      () => Buffer.concat([f32Frame(2, 1, [1]), f32Frame(2, 0, [1])]),
      /step 0 of operation #2 out of order/,
    ],
  ];
  for (const [what, frame, message] of bad) {
    it(`fails the connection on ${what}`, async () => {
      const { raw, failed } = await pair();
      raw.write(frame());
      expect(await failed).toMatch(message);
    });
  }

  it('fails on a frame of another operation, type or length than the one posted', async () => {
    const cases: [Buffer, Expect, RegExp][] = [
      [
        f32Frame(1, 0, [1], kindCode('broadcast')),
        expectF32(1),
        /it is in broadcast #1 while this member is in allReduce #1: every member must call the same collectives/,
      ],
      [
        f32Frame(1, 0, [1, 2]),
        expectF32(3),
        /it passed a tensor of 2 elements to allReduce #1, this member 3/,
      ],
      [
        f32Frame(1, 0, [1]),
        { ...expectF32(1), dtype: 2 },
        /it passed a Float32Array to allReduce #1, this member a Float64Array/,
      ],
    ];
    for (const [frame, expectation, message] of cases) {
      const { peer, raw, failed } = await pair();
      void peer
        .recv(1, 0, expectation, new Uint8Array(expectation.elements * (expectation.dtype === 2 ? 8 : 4)))
        .catch(() => {});
      raw.write(frame);
      expect(await failed).toMatch(message);
    }
  });

  it('reports the connection closing once', async () => {
    const { raw, failed, failures } = await pair();
    raw.destroy();
    expect(await failed).toMatch(/rank 1: its connection closed/);
    expect(failures).toHaveLength(1);
  });
});
