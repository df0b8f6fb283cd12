// What a process gives its core worker (core-worker.ts): its ids, where it serves and whom it
// talks to (raylet, store, GCS node table), and how remote functions travel in values. The driver
// (driver/driver.ts) and the worker entry (worker/main.ts) fill these in.
import type { StoreClient } from '@tray/object-store';
import type { Connection } from '@tray/protocol';
import type { NodeTable } from './node-death-watch.js';
import type { ObjectRef } from './object-ref.js';
import type { TaskEventSink } from './task-events.js';

/** How remote functions, actor classes and handles travel (ValueCodec's encodeFunction, decodeFunction). */
export interface FunctionCodec {
  encode(fn: object, addRef: (ref: ObjectRef<unknown>) => number): unknown;
  decode(data: unknown, refs: readonly ObjectRef<unknown>[]): unknown;
}

export interface CoreWorkerOptions {
  mode: 'driver' | 'worker';
  jobId: Buffer;
  workerId: Buffer;
  nodeId: Buffer;
  /** Where this process serves CoreWorkerService (sockets/w-<hex8>). */
  socketPath: string;
  /** The node's IP, where peers on other nodes reach this process (default: TRAY_NODE_IP, else 127.0.0.1). */
  host?: string;
  token: string;
  raylet: Connection;
  store: StoreClient | undefined;
  workingDir: string;
  namespace: string;
  functions: FunctionCodec;
  /** How warnings reach the user (the driver's stderr). */
  warn?: (message: string) => void;
  /** The GCS's node table: with it, connections to nodes the GCS marked dead are closed (node-death-watch.ts). */
  nodes?: NodeTable;
  /** Where task events go in batches (the GCS's AddTaskEventData; absent: none are reported). */
  taskEvents?: TaskEventSink;
}
