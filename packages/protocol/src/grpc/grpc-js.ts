// grpc-js, loaded on first use. Only the control plane speaks gRPC (GCS, raylets, a driver's GCS
// client); workers and the framed hot paths never do, and loading grpc-js (~280 files) cost every
// process ~100-300 ms of its start. Everything here is typed with `import type`, so importing
// @tray/protocol loads no grpc-js code until a server or client is created.
import { createRequire } from 'node:module';
import type * as GrpcJs from '@grpc/grpc-js';
import { withCodeCache } from '../code-cache.js';

let grpc: typeof GrpcJs | undefined;

/** The grpc-js module (loaded synchronously the first time). */
export function grpcJs(): typeof GrpcJs {
  // Through the V8 code cache (code-cache.ts): its ~60 CommonJS files are compiled from cached
  // data in every process after the first.
  if (grpc === undefined)
    grpc = withCodeCache(() => createRequire(import.meta.url)('@grpc/grpc-js') as typeof GrpcJs);
  return grpc;
}

/**
 * Load grpc-js now: a process that will soon create a gRPC client (a driver waiting for the
 * daemons it started) can pay for it while it has nothing else to do.
 */
export function preloadGrpc(): void {
  grpcJs();
}

/** True once grpc-js was loaded in this process (for tests of the lazy loading). */
export function grpcJsLoaded(): boolean {
  return grpc !== undefined;
}
