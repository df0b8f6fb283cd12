// Large payloads without copies: a reply written as several buffers (FrameParts) arrives as
// one payload, and given back to its owner only once the socket is done with it; a reply whose
// request offered a sink (PayloadSink) is written into it as it is read, in whatever slices
// the stream brings, while frames around it decode as before.
import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { tray } from '../../generated/proto.js';
import { NodeManagerService } from '../../generated/services.js';
import { connect, listen } from './endpoint.js';
import { encodeFrame, type Frame, FrameDecoder, FrameKind, type PayloadSink } from './frame.js';
import { FrameParts } from './frame-writer.js';
import { Cleanup } from './test-support.js';

const TOKEN = 'parts-test-token';
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A sink that keeps what it is given in `bytes`; declines payloads of another length. */
class CollectingSink implements PayloadSink {
  readonly bytes: Buffer;
  writes = 0;
  constructor(length: number) {
    this.bytes = Buffer.alloc(length);
  }
  begin(payloadBytes: number): boolean {
    return payloadBytes === this.bytes.length;
  }
  write(bytes: Buffer, at: number): void {
    this.writes++;
    this.bytes.set(bytes, at);
  }
  finish(): unknown {
    return tray.v1.ObjectChunk.decode(this.bytes);
  }
}

/** A payload whose every 4 KiB page starts with its page number, so a misplaced slice shows. */
function pattern(length: number): Buffer {
  const bytes = Buffer.alloc(length, 0x5a);
  for (let i = 0; i + 4 <= length; i += 4096) bytes.writeUInt32LE(i / 4096, i);
  return bytes;
}

describe('FrameDecoder with a sink', () => {
  const big = pattern(1024 * 1024 + 3);
  const stream = Buffer.concat([
    encodeFrame(FrameKind.NOTIFY, 9, 0, Buffer.from('before')),
    encodeFrame(FrameKind.RESPONSE, 7, 4, big),
    encodeFrame(FrameKind.RESPONSE, 7, 5, Buffer.from('after')),
  ]);

  for (const slice of [1000, 7 * 1024 + 5, 64 * 1024, stream.length]) {
    it(`writes a reply's payload into its sink, fed in slices of ${slice} bytes`, () => {
      const sink = new CollectingSink(big.length);
      const decoder = new FrameDecoder(1 << 24);
      const asked: number[] = [];
      decoder.sinkFor = (id, bytes) => {
        asked.push(id);
        return id === 4 && sink.begin(bytes) ? sink : undefined;
      };
      const out: Frame[] = [];
      for (let at = 0; at < stream.length; at += slice) decoder.push(stream.subarray(at, at + slice), out);
      expect(out.map((f) => [f.kind, f.requestId])).toEqual([
        [FrameKind.NOTIFY, 0],
        [FrameKind.RESPONSE, 4],
        [FrameKind.RESPONSE, 5],
      ]);
      expect([out[0]!.payload.toString(), out[2]!.payload.toString()]).toEqual(['before', 'after']);
      if (slice < stream.length) {
        // Split across reads: the payload went to the sink, not into the frame.
        expect(out[1]!.sink).toBe(sink);
        expect(out[1]!.payload.length).toBe(0);
        expect(Buffer.compare(sink.bytes, big)).toBe(0);
        expect(asked).toEqual([4]);
      } else {
        // Whole in one read: there is nothing to save, so it is not offered.
        expect(out[1]!.sink).toBeUndefined();
        expect(Buffer.compare(out[1]!.payload, big)).toBe(0);
      }
    });
  }

  it('buffers the payload as usual when the sink declines it', () => {
    const sink = new CollectingSink(10); // another length: declined
    const decoder = new FrameDecoder(1 << 24);
    decoder.sinkFor = (_id, bytes) => (sink.begin(bytes) ? sink : undefined);
    const out: Frame[] = [];
    for (let at = 0; at < stream.length; at += 4096) decoder.push(stream.subarray(at, at + 4096), out);
    expect(out).toHaveLength(3);
    expect(out[1]!.sink).toBeUndefined();
    expect(Buffer.compare(out[1]!.payload, big)).toBe(0);
    expect(sink.writes).toBe(0);
  });
});

describe('FrameParts and requestInto over TCP', () => {
  async function chunkServer(data: Buffer, written: () => void, delay?: Promise<void>) {
    const head = { objectId: Buffer.alloc(28, 1), chunkIndex: 3, numChunks: 9, dataSize: data.length };
    const server = await listen(
      { host: '127.0.0.1', port: 0 },
      (connection) => {
        connection.handle(NodeManagerService.GetObjectChunk, async () => {
          await delay;
          // The message's bytes in three pieces: its head, then the data in two halves.
          const whole = tray.v1.ObjectChunk.encode({ ...head, data }).finish();
          const cut = whole.length - data.length;
          const half = cut + (data.length >> 1);
          return new FrameParts(
            [whole.subarray(0, cut), whole.subarray(cut, half), whole.subarray(half)],
            written,
          ) as never;
        });
      },
      { token: TOKEN },
    );
    cleanup.server(server);
    return server;
  }

  it('a reply in parts arrives as one message, and its parts are given back once written', async () => {
    const data = pattern(3 * 1024 * 1024 + 17);
    let given = 0;
    const server = await chunkServer(data, () => given++);
    const client = cleanup.connection(await connect(server.address, { token: TOKEN }));
    const plain = await client.request(NodeManagerService.GetObjectChunk, {});
    expect(plain.chunkIndex).toBe(3);
    expect(Buffer.compare(Buffer.from(plain.data), data)).toBe(0);

    const encoded = tray.v1.ObjectChunk.encode(plain).finish();
    const sink = new CollectingSink(encoded.length);
    const sunk = await client.requestInto(NodeManagerService.GetObjectChunk, {}, sink);
    expect(sink.writes).toBeGreaterThan(1); // it came in several reads, each written in place
    expect(Buffer.compare(sink.bytes, encoded)).toBe(0);
    expect(sunk.numChunks).toBe(9);
    expect(Buffer.compare(Buffer.from(sunk.data), data)).toBe(0);
    await waitFor(() => given === 2);
  });

  it('parts whose connection closed before they were sent are given back too', async () => {
    let release!: () => void;
    const delay = new Promise<void>((resolve) => {
      release = resolve;
    });
    let given = 0;
    const server = await chunkServer(pattern(1024 * 1024), () => given++, delay);
    const client = await connect(server.address, { token: TOKEN });
    const reply = client.request(NodeManagerService.GetObjectChunk, {});
    reply.catch(() => {});
    await waitFor(() => server.connections.size === 1);
    client.destroy();
    await waitFor(() => [...server.connections].every((c) => c.closed));
    release();
    await waitFor(() => given === 1);
  });
});
