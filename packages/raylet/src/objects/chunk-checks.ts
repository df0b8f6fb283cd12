// What a raylet checks of every chunk a peer sends of an object (over either transfer path:
// framed GetObjectChunk or the gRPC stream): that it is for the object and position asked for,
// with sane sizes, the same as the first chunk's. Each path adds its own bounds check.
import { ErrorType, errorWithInfo, type tray } from '@tray/protocol';

/** The error for a chunk of object `id` from `node` that is wrong in `what` way. */
export function badChunk(node: string, id: Buffer, what: string): Error {
  return errorWithInfo({
    type: ErrorType.INTERNAL,
    message: `node ${node} sent a bad chunk of object ${id.toString('hex')}: ${what}`,
  });
}

/**
 * Checks `chunk` is chunk `index` of object `id`, with sizes in range and (after the first) the
 * first chunk's sizes and chunk count. Returns the object's total bytes (data and metadata).
 */
export function checkChunkHead(
  chunk: tray.v1.ObjectChunk,
  id: Buffer,
  index: number,
  first: tray.v1.ObjectChunk | undefined,
  node: string,
): number {
  if (!id.equals(chunk.objectId)) throw badChunk(node, id, 'it is for another object');
  if (chunk.chunkIndex !== index) {
    throw badChunk(node, id, `chunk ${chunk.chunkIndex} came where ${index} was asked for`);
  }
  const total = chunk.dataSize + chunk.metadataSize;
  if (!Number.isSafeInteger(total) || chunk.dataSize < 0 || chunk.metadataSize < 0) {
    throw badChunk(node, id, 'its sizes are out of range');
  }
  if (first !== undefined) {
    if (chunk.dataSize !== first.dataSize || chunk.metadataSize !== first.metadataSize) {
      throw badChunk(node, id, 'its sizes differ from the first chunk');
    }
    if (chunk.numChunks !== first.numChunks)
      throw badChunk(node, id, 'its chunk count differs from the first chunk');
  }
  return total;
}
