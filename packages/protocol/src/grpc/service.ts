// Turns the generated service tables (services.ts) into grpc-js service definitions, so both
// transports share one set of codecs and nothing is loaded from .proto files at run time.
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type { MethodDef } from '../method.js';

/** A generated service table, e.g. `NodeInfoGcsService`: method name → MethodDef. */
export type ServiceTable = { readonly [method: string]: MethodDef<any, any> };

const definitions = new WeakMap<ServiceTable, ServiceDefinition>();

/** grpc-js wants Buffers; protobufjs may hand back a plain Uint8Array. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The gRPC path of a method: `/tray.v1.Service/Method`. */
export function grpcPath(method: MethodDef<any, any>): string {
  return `/${method.name}`;
}

export function methodDefinition(method: MethodDef<any, any>): MethodDefinition<any, any> {
  return {
    path: grpcPath(method),
    requestStream: false,
    responseStream: method.kind === 'server-stream',
    requestSerialize: (message: unknown) => asBuffer(method.encodeRequest(message as object)),
    requestDeserialize: (bytes: Buffer) => method.decodeRequest(bytes),
    responseSerialize: (message: unknown) => asBuffer(method.encodeResponse(message as object)),
    responseDeserialize: (bytes: Buffer) => method.decodeResponse(bytes),
  };
}

/** The grpc-js definition of a service table (cached per table). */
export function serviceDefinition(table: ServiceTable): ServiceDefinition {
  let definition = definitions.get(table);
  if (definition === undefined) {
    const methods = Object.entries(table);
    if (methods.length === 0) throw new TypeError('a service table needs at least one method');
    const built: Record<string, MethodDefinition<any, any>> = {};
    for (const [name, method] of methods) {
      if (typeof method?.name !== 'string' || typeof method.encodeRequest !== 'function') {
        throw new TypeError(
          `${name} is not a MethodDef: pass a generated service table such as NodeInfoGcsService`,
        );
      }
      built[name] = methodDefinition(method);
    }
    definition = built;
    definitions.set(table, definition);
  }
  return definition;
}
