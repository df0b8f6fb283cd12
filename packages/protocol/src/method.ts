// A method of a proto service, as both transports see it: its full name, a numeric id for
// the framed transport, and the codecs of its request and response messages.
import type { Writer } from 'protobufjs/minimal.js';

/** A generated message class: what `defineMethod` needs from it. */
export interface MessageType<T> {
  encode(message: any, writer?: Writer): Writer;
  decode(reader: Uint8Array): T;
}

export type MethodKind = 'unary' | 'server-stream';

export interface MethodDef<Req, Res, K extends MethodKind = MethodKind> {
  /** `package.Service/Method`, e.g. `tray.v1.StoreService/Create`. */
  readonly name: string;
  /** FNV-1a hash of `name`: the method's id in framed-transport headers. */
  readonly id: number;
  readonly kind: K;
  encodeRequest(message: Message<Req>): Uint8Array;
  decodeRequest(bytes: Uint8Array): Req;
  encodeResponse(message: Message<Res>): Uint8Array;
  decodeResponse(bytes: Uint8Array): Res;
}

/** The request and response message types of a method. */
export type RequestOf<M> = M extends MethodDef<infer Req, any, any> ? Req : never;
export type ResponseOf<M> = M extends MethodDef<any, infer Res, any> ? Res : never;

/** 32-bit FNV-1a of a string's UTF-16 code units (method names are ASCII). */
export function methodId(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Messages go out as plain objects (every field optional, `Message<T>`) and come in as decoded
 * instances of the generated classes (scalars always present, proto3 defaults filled in).
 */
export function defineMethod<ReqT, ResT, K extends MethodKind>(
  name: string,
  request: MessageType<ReqT> & { prototype: ReqT },
  response: MessageType<ResT> & { prototype: ResT },
  kind: K,
): MethodDef<ReqT, ResT, K> {
  return {
    name,
    id: methodId(name),
    kind,
    encodeRequest: (m) => request.encode(m).finish(),
    decodeRequest: (b) => request.decode(b),
    encodeResponse: (m) => response.encode(m).finish(),
    decodeResponse: (b) => response.decode(b),
  };
}

/** A message as it is sent: a plain object with any of the class's fields. */
export type Message<T> = { [K in keyof T]?: T[K] | null };
