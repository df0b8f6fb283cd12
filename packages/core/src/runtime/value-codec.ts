// The contract between the serializer (serialization.ts), the walk before it (value-walk.ts) and
// the process that provides how refs and remote functions cross the boundary (the core worker):
// a file of its own so that the serializer and the walk both use it and neither imports the other.
import type { tray } from '@tray/protocol';
import type { ObjectRef } from './object-ref.js';

/** The owner of refs as it travels inside a value (once per owner per value). */
export interface OwnerRecord {
  nodeId?: string;
  workerId?: string;
  ip?: string;
  port?: number;
  socketPath?: string;
}

/** How refs and remote functions cross the boundary; the core worker provides it. */
export interface ValueCodec {
  /** `address` undefined: the serializing process owns the ref. */
  encodeOwner(address: tray.v1.IAddress | undefined): OwnerRecord;
  decodeRef(id: Buffer, owner: OwnerRecord, fromGenerator: boolean): ObjectRef<unknown>;
  /**
   * The wire form of a remote function, actor class or actor handle. `addRef` lists a ref the
   * value carries with it (an actor handle's) and gives its index in the value's refs.
   */
  encodeFunction(fn: object, addRef: (ref: ObjectRef<unknown>) => number): unknown;
  /** `refs`: the value's refs (what encodeFunction's `addRef` indexes). */
  decodeFunction(data: unknown, refs: readonly ObjectRef<unknown>[]): unknown;
}

/** What is kept of an error: enough to rebuild it as its own class where that is a global. */
export interface ErrorFields {
  name: string;
  message: string;
  stack?: string;
  hasCause: boolean;
  cause?: unknown;
  props: Record<string, unknown>;
}
