// The request a replica's method is running for, as Ray's serve request context: its id, its
// deployment, and an AbortSignal that aborts when the caller cancels (DeploymentResponse.cancel(),
// the HTTP proxy's request timeout, a client that hung up). User code reads it with
// `serve.getRequestContext()` from inside the method (an HTTP ingress also has `request.signal`).
// The store lives on globalThis: user code shipped by source takes `require('@tray/serve')` (the
// CommonJS build), the replica runs the ESM one, and both must see the same requests.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  requestId: string;
  appName: string;
  deploymentName: string;
  /** Aborts (reason: a RequestCancelledError) when the request is cancelled. */
  signal: AbortSignal;
}

const KEY = Symbol.for('tray.serve.requestContext');
const holder = globalThis as { [KEY]?: AsyncLocalStorage<RequestContext> };
const store: AsyncLocalStorage<RequestContext> = (holder[KEY] ??= new AsyncLocalStorage<RequestContext>());

/** Runs `fn` as part of the request `context`. */
export function runInRequest<T>(context: RequestContext, fn: () => T): T {
  return store.run(context, fn);
}

/** The request the calling replica method runs for (Ray's serve.context request context). */
export function getRequestContext(): RequestContext {
  const context = store.getStore();
  if (context === undefined) {
    throw new Error(
      'serve.getRequestContext() was called outside a request: call it inside a deployment method, ' +
        'while the replica runs it for a handle call or an HTTP request',
    );
  }
  return context;
}
