// The receiving half of a framed transfer against a peer on a real TCP socket that this test
// scripts: chunks are read straight into their slot of the target, and a peer that sends a chunk
// of the wrong length, the wrong index or another object fails the transfer with an error that
// says so; no byte lands outside the object, nor in it once the transfer failed.
import { randomBytes } from 'node:crypto';
import {
  type Connection,
  connect,
  type FramedServer,
  FrameParts,
  listen,
  NodeManagerService,
  type tray,
} from '@tray/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchObject } from '../src/objects/framed-chunk-fetch.js';
import { chunkHead } from '../src/objects/framed-chunk-sender.js';

const TOKEN = 'chunk-fetch-test-token';
const CHUNK = 64 * 1024;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Object bytes in which every byte says where it is (mod 251), so misplaced bytes show. */
function objectBytes(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = i % 251;
  return bytes;
}

type Tamper = (index: number, head: tray.v1.ObjectChunk.$Properties, data: Uint8Array) => Uint8Array[];

/** A peer serving `object` in chunks of CHUNK bytes; `tamper` may change what chunk i says. */
async function peer(id: Buffer, object: Buffer, tamper?: Tamper): Promise<FramedServer> {
  const server = await listen(
    { host: '127.0.0.1', port: 0 },
    (connection) => {
      connection.handle(NodeManagerService.GetObjectChunk, (req) => {
        const index = req.chunkIndex;
        const numChunks = Math.ceil(object.length / CHUNK);
        const head = { objectId: id, chunkIndex: index, numChunks, dataSize: object.length, metadataSize: 0 };
        const data = object.subarray(index * CHUNK, (index + 1) * CHUNK);
        const parts = tamper?.(index, head, data) ?? [chunkHead(head, data.byteLength), data];
        return new FrameParts(parts) as never;
      });
    },
    { token: TOKEN },
  );
  cleanups.push(() => server.close());
  return server;
}

async function fetchInto(connection: Connection, id: Buffer, target: Uint8Array): Promise<void> {
  await fetchObject(connection, id, 'peer-node', async () => target, {
    chunkBytes: CHUNK,
    window: 4,
    timeoutMs: 30_000,
    nodeId: randomBytes(28),
  });
}

async function connectTo(server: FramedServer): Promise<Connection> {
  const connection = await connect(server.address, { token: TOKEN });
  cleanups.push(() => connection.destroy());
  return connection;
}

describe('fetchObject over the framed transport', () => {
  it('reads every chunk into its place, the last one short', async () => {
    const id = randomBytes(28);
    const object = objectBytes(20 * CHUNK + 123);
    const target = Buffer.alloc(object.length);
    await fetchInto(await connectTo(await peer(id, object)), id, target);
    expect(Buffer.compare(target, object)).toBe(0);
  });

  /** Chunk 5 carries `extra` more data bytes than its slot holds. */
  const longer =
    (extra: number): Tamper =>
    (i, head, data) => {
      const more = i === 5 ? extra : 0;
      return [chunkHead(head, data.byteLength + more), data, Buffer.alloc(more, 0xee)];
    };
  const bad: [string, Tamper, RegExp][] = [
    // Too long to be a head and a slot's bytes: gathered whole, then refused.
    ['a chunk far longer than its slot', longer(1000), /chunk 5 holds 66536 bytes where 65536 were due/],
    // As long as a head could be: written into the slot as it came, then refused.
    ['a chunk a little longer than its slot', longer(7), /undecodable .*GetObjectChunk reply/],
    [
      'another chunk than the one asked for',
      (i, head, data) => [chunkHead({ ...head, chunkIndex: i === 5 ? 6 : i }, data.byteLength), data],
      /chunk 6 came where 5 was asked for/,
    ],
    [
      'a chunk of another object',
      (i, head, data) => [
        chunkHead({ ...head, objectId: i === 5 ? randomBytes(28) : head.objectId }, data.byteLength),
        data,
      ],
      /it is for another object/,
    ],
    [
      'a data field that is not the bytes after the head',
      (i, head, data) => {
        if (i !== 5) return [chunkHead(head, data.byteLength), data];
        // As long as a good reply, but the head claims a shorter data field and pads after it.
        const short = chunkHead(head, data.byteLength - 1);
        return [
          short,
          data.subarray(1),
          Buffer.alloc(1 + short.length - chunkHead(head, data.byteLength).length),
        ];
      },
      /undecodable .*GetObjectChunk reply/,
    ],
  ];
  for (const [what, tamper, message] of bad) {
    it(`fails the transfer on ${what}, and writes nothing after, nor outside the object`, async () => {
      const id = randomBytes(28);
      const object = objectBytes(20 * CHUNK);
      // Guard bytes on both sides of the object: a write past its slot would change them.
      const backing = Buffer.alloc(object.length + 2 * CHUNK, 0xcc);
      const target = backing.subarray(CHUNK, CHUNK + object.length);
      const connection = await connectTo(await peer(id, object, tamper));
      await expect(fetchInto(connection, id, target)).rejects.toThrow(message);
      // Replies come in order: once one more is in, every reply of the transfer was read, and
      // none written into the object after it failed.
      const after = Buffer.from(backing);
      await connection.request(NodeManagerService.GetObjectChunk, { chunkIndex: 0 });
      expect(backing.equals(after)).toBe(true);
      expect(backing.subarray(0, CHUNK).every((b) => b === 0xcc)).toBe(true);
      expect(backing.subarray(CHUNK + object.length).every((b) => b === 0xcc)).toBe(true);
    });
  }
});
