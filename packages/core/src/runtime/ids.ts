// Ids, with Ray's lengths: JobID 4 bytes, TaskID 24 (20 unique + JobID), ObjectID 28 (TaskID +
// 4-byte little-endian index: task returns use 1..n, streaming items n+1.., puts ≥ 2^31),
// NodeID and WorkerID 28 random bytes. Task ids are a per-process random prefix and a counter,
// so making one costs no system call.
import { randomBytes } from 'node:crypto';
import { IdBytes } from '@tray/protocol';

export const JOB_ID_BYTES = IdBytes.job;
export const TASK_ID_BYTES = IdBytes.task;
export const OBJECT_ID_BYTES = IdBytes.object;
export const UNIQUE_ID_BYTES = IdBytes.worker;
/** Object indexes at or above this belong to `put` objects of the task. */
export const PUT_INDEX_BASE = 2 ** 31;

const processPrefix = randomBytes(12);
let taskCounter = 0;

export function randomUniqueId(): Buffer {
  return randomBytes(UNIQUE_ID_BYTES);
}

/** A fresh task id of `jobId`. */
export function newTaskId(jobId: Uint8Array): Buffer {
  const id = Buffer.allocUnsafe(TASK_ID_BYTES);
  processPrefix.copy(id, 0);
  taskCounter++;
  id.writeUInt32LE(taskCounter >>> 0, 12);
  id.writeUInt32LE(Math.floor(taskCounter / 2 ** 32), 16);
  for (let i = 0; i < JOB_ID_BYTES; i++) id[20 + i] = jobId[i] ?? 0;
  return id;
}

export function objectIdOf(taskId: Uint8Array, index: number): Buffer {
  const id = Buffer.allocUnsafe(OBJECT_ID_BYTES);
  id.set(taskId.subarray(0, TASK_ID_BYTES), 0);
  id.writeUInt32LE(index >>> 0, TASK_ID_BYTES);
  return id;
}

export function taskIdOfObject(objectId: Uint8Array): Buffer {
  return Buffer.from(objectId.subarray(0, TASK_ID_BYTES));
}

export function objectIndex(objectId: Uint8Array): number {
  return Buffer.from(objectId.buffer, objectId.byteOffset, objectId.byteLength).readUInt32LE(TASK_ID_BYTES);
}

export function isPutObject(objectId: Uint8Array): boolean {
  return objectIndex(objectId) >= PUT_INDEX_BASE;
}

export function hex(id: Uint8Array): string {
  return Buffer.isBuffer(id)
    ? id.toString('hex')
    : Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

export function fromHex(value: string): Buffer {
  return Buffer.from(value, 'hex');
}
