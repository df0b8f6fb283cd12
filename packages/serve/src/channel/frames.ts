// The direct proxy↔replica channel's wire format: each frame is a u32 (big-endian) length and a
// v8-serialized message. A connection's first frame is the client's HELLO with the cluster token
// (TRAY_TOKEN, which every worker has); the server reads nothing else before it checks it, and
// refuses a first frame over HELLO_MAX_BYTES. Messages are validated where they arrive.
import type { Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';

/** The largest first (HELLO) frame a server reads. */
export const HELLO_MAX_BYTES = 1024;

/** Sockets corked until the end of this event-loop iteration. */
const corked = new WeakSet<Socket>();

export function writeFrame(socket: Socket, message: unknown): boolean {
  const payload = serialize(message);
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(payload.byteLength, 0);
  // Frames written in the same iteration of the event loop (the requests of every connection
  // read in one poll, the replies they got at once) leave in one writev after it: a send and the
  // other side's wake-up per batch, not per frame, were the proxy's largest cost per request.
  if (!corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    setImmediate(() => {
      corked.delete(socket);
      socket.uncork();
    });
  }
  socket.write(header);
  return socket.write(payload);
}

/**
 * Calls `onMessage` with each frame's message as it arrives; a frame over `maxBytes` (the first
 * one over `firstMaxBytes`) or one that does not deserialize closes the socket.
 */
export function readFrames(
  socket: Socket,
  maxBytes: number,
  onMessage: (message: unknown) => void,
  firstMaxBytes = maxBytes,
): void {
  let buffered: Buffer = Buffer.alloc(0);
  let first = true;
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.byteLength === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.byteLength >= 4) {
      const length = buffered.readUInt32BE(0);
      if (length > (first ? firstMaxBytes : maxBytes)) {
        socket.destroy(new Error(`a serve channel frame of ${length} bytes is over the limit`));
        return;
      }
      if (buffered.byteLength < 4 + length) break;
      const payload = buffered.subarray(4, 4 + length);
      buffered = buffered.subarray(4 + length);
      first = false;
      let message: unknown;
      try {
        message = deserialize(payload);
      } catch {
        socket.destroy(new Error('a serve channel frame does not deserialize'));
        return;
      }
      onMessage(message);
      if (socket.destroyed) return;
    }
  });
}
