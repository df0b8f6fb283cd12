// Authenticating a peer connection of a collective group. The rendezvous hands every member the
// group's random secret; a connection proves both ends know it without sending it:
//   listener → dialer   CHALLENGE  'TRCG' · u32 version · 32-byte nonce
//   dialer → listener   HELLO      'TRCG' · u32 rank · u32 worldSize · 32-byte nonce · HMAC
//   listener → dialer   ACCEPT     'TRCG' · HMAC
// Each HMAC-SHA256 covers the group name, both ranks and both nonces (so no reply is replayable
// on another connection) and is compared in constant time. A dialer that fails any check is
// disconnected; the listener keeps waiting for the real member.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';

const MAGIC = Buffer.from('TRCG');
const VERSION = 1;
const NONCE = 32;
const MAC = 32;
const CHALLENGE_BYTES = 4 + 4 + NONCE;
const HELLO_BYTES = 4 + 4 + 4 + NONCE + MAC;
const ACCEPT_BYTES = 4 + MAC;

export interface HandshakeParams {
  name: string;
  rank: number;
  worldSize: number;
  secret: Buffer;
  /** Give up on this connection after this long (ms). */
  timeoutMs: number;
}

function mac(
  secret: Buffer,
  role: string,
  name: string,
  from: number,
  to: number,
  a: Buffer,
  b: Buffer,
): Buffer {
  return createHmac('sha256', secret)
    .update(`${role}\0${name}\0${from}\0${to}\0`)
    .update(a)
    .update(b)
    .digest();
}

/** Reads exact byte counts off a socket during the handshake; then hands the rest to the frame reader. */
class Reader {
  private chunks: Buffer[] = [];
  private have = 0;
  private want = 0;
  private waiter: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failed: Error | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly socket: Socket,
    timeoutMs: number,
  ) {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    this.timer = setTimeout(() => this.fail(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
  }

  private onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.have += chunk.length;
    this.deliver();
  };
  private onClose = (): void => this.fail(new Error('the connection closed during the handshake'));
  private onError = (err: Error): void => this.fail(err);

  private fail(err: Error): void {
    this.failed ??= err;
    this.waiter?.reject(err);
    this.waiter = undefined;
  }

  private deliver(): void {
    if (this.waiter === undefined || this.have < this.want) return;
    const all = Buffer.concat(this.chunks);
    this.chunks = [all.subarray(this.want)];
    this.have = all.length - this.want;
    const w = this.waiter;
    this.waiter = undefined;
    w.resolve(all.subarray(0, this.want));
  }

  take(n: number): Promise<Buffer> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.want = n;
      this.waiter = { resolve, reject };
      this.deliver();
    });
  }

  /** Stops reading (the socket is paused) and returns the bytes read past the handshake. */
  release(): Buffer {
    clearTimeout(this.timer);
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onError);
    return Buffer.concat(this.chunks);
  }
}

export interface Accepted {
  peerRank: number;
  /** Bytes the peer sent after its HELLO (frames), for the frame reader. */
  leftover: Buffer;
}

/**
 * The listener's side, from the moment a connection arrives: the challenge goes out at once, and
 * the HELLO is checked once `ready` gives the secret (a peer may dial before this member's own
 * rendezvous answered). Resolves with the dialer's rank once it proved the secret; rejects (and
 * destroys the socket) with what was wrong otherwise. `expected(rank)` says whether a dialer of
 * that rank is still awaited.
 */
export async function acceptHandshake(
  socket: Socket,
  timeoutMs: number,
  ready: Promise<HandshakeParams>,
  expected: (rank: number) => boolean,
): Promise<Accepted> {
  const reader = new Reader(socket, timeoutMs);
  try {
    const nonceL = randomBytes(NONCE);
    const challenge = Buffer.alloc(CHALLENGE_BYTES);
    MAGIC.copy(challenge, 0);
    challenge.writeUInt32LE(VERSION, 4);
    nonceL.copy(challenge, 8);
    socket.write(challenge);
    const hello = await reader.take(HELLO_BYTES);
    const p = await ready;
    if (!hello.subarray(0, 4).equals(MAGIC))
      throw new Error('the peer is not a tray collective member (bad magic)');
    const rank = hello.readUInt32LE(4);
    const worldSize = hello.readUInt32LE(8);
    const nonceD = hello.subarray(12, 12 + NONCE);
    const theirMac = hello.subarray(12 + NONCE, HELLO_BYTES);
    // Check the MAC before believing anything else the peer says.
    const want = mac(p.secret, 'dial', p.name, rank, p.rank, nonceL, nonceD);
    if (!timingSafeEqual(want, theirMac))
      throw new Error(`a peer claiming rank ${rank} failed authentication`);
    if (worldSize !== p.worldSize) {
      throw new Error(`rank ${rank} joined with worldSize ${worldSize}, this member has ${p.worldSize}`);
    }
    if (!(rank > p.rank && rank < p.worldSize) || !expected(rank)) {
      throw new Error(`rank ${rank} dialed rank ${p.rank} but is not awaited (duplicate or out of range)`);
    }
    const accept = Buffer.alloc(ACCEPT_BYTES);
    MAGIC.copy(accept, 0);
    mac(p.secret, 'accept', p.name, p.rank, rank, nonceD, nonceL).copy(accept, 4);
    socket.write(accept);
    return { peerRank: rank, leftover: reader.release() };
  } catch (err) {
    reader.release();
    socket.destroy();
    throw err;
  }
}

/** The dialer's side: proves the secret to `peerRank`'s listener and checks its proof. */
export async function dialHandshake(socket: Socket, p: HandshakeParams, peerRank: number): Promise<Buffer> {
  const reader = new Reader(socket, p.timeoutMs);
  try {
    const challenge = await reader.take(CHALLENGE_BYTES);
    if (!challenge.subarray(0, 4).equals(MAGIC))
      throw new Error(`rank ${peerRank}'s address answered with bad magic`);
    const version = challenge.readUInt32LE(4);
    if (version !== VERSION)
      throw new Error(`rank ${peerRank} speaks handshake version ${version}, not ${VERSION}`);
    const nonceL = challenge.subarray(8, CHALLENGE_BYTES);
    const nonceD = randomBytes(NONCE);
    const hello = Buffer.alloc(HELLO_BYTES);
    MAGIC.copy(hello, 0);
    hello.writeUInt32LE(p.rank, 4);
    hello.writeUInt32LE(p.worldSize, 8);
    nonceD.copy(hello, 12);
    mac(p.secret, 'dial', p.name, p.rank, peerRank, nonceL, nonceD).copy(hello, 12 + NONCE);
    socket.write(hello);
    const accept = await reader.take(ACCEPT_BYTES);
    const want = mac(p.secret, 'accept', p.name, peerRank, p.rank, nonceD, nonceL);
    if (!accept.subarray(0, 4).equals(MAGIC) || !timingSafeEqual(want, accept.subarray(4, ACCEPT_BYTES))) {
      throw new Error(`the listener at rank ${peerRank}'s address failed authentication`);
    }
    return reader.release();
  } catch (err) {
    reader.release();
    socket.destroy();
    throw err;
  }
}
