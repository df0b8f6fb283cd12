// DeploymentHandle: how code calls a deployment, from a driver or from inside another replica.
// `handle.method.remote(...args)` (or `handle.remote(...)` for `__call__`) returns a
// DeploymentResponse at once; `handle.options({ methodName, stream: true })` makes calls that
// return a DeploymentResponseGenerator over what an (async) generator method yields. Arguments
// that are DeploymentResponses are awaited before the request is sent (the callee sees values);
// handles in arguments travel as markers (handle-codec.ts). The router picks the replica.
import * as tray from '@tray/core';
import type { ReplicaMethods, RequestReply, StreamStart } from '../controller/types.js';
import { encodeArgs, HANDLE_IDENTITY } from './identity.js';
import { DeploymentResponse, DeploymentResponseGenerator } from './response.js';
import { routerFor } from './router.js';

export interface HandleOptions {
  /** The method `handle.remote()` calls (default `__call__`). */
  methodName?: string;
  /** Calls return a DeploymentResponseGenerator (the method is an (async) generator). */
  stream?: boolean;
}

export interface HandleMethod {
  remote(...args: unknown[]): DeploymentResponse<any> & DeploymentResponseGenerator<any>;
}

type MethodsOf<T> = T extends abstract new (
  ...args: any[]
) => infer I
  ? I
  : T extends (...args: any[]) => any
    ? never
    : T;

/**
 * A handle to a deployment of class (or function) type T: its methods typed from the class when T
 * is known (`serve.run` of a typed application, `getDeploymentHandle<typeof Cls>`), any method
 * name when it is not.
 */
export type DeploymentHandle<T = any> = {
  readonly deploymentName: string;
  readonly appName: string;
  /** Calls the method of `options.methodName` (default `__call__`). */
  remote(...args: unknown[]): DeploymentResponse<any> & DeploymentResponseGenerator<any>;
  options(options: HandleOptions): DeploymentHandle<T>;
} & {
  readonly [K in keyof MethodsOf<T>]: MethodsOf<T>[K] extends (...args: infer A) => infer R
    ? {
        remote(
          ...args: { [I in keyof A]: A[I] | DeploymentResponse<A[I]> }
        ): DeploymentResponse<Awaited<R>> & DeploymentResponseGenerator<any>;
      }
    : never;
} & (0 extends 1 & T ? Record<string, HandleMethod> : unknown);

const NOT_METHODS = new Set(['then', 'toJSON', 'constructor', 'asymmetricMatch', '$$typeof', 'nodeType']);

async function resolveArgs(args: unknown[]): Promise<unknown[]> {
  let pending = false;
  for (const a of args) if (a instanceof DeploymentResponse) pending = true;
  const values = pending
    ? await Promise.all(args.map((a) => (a instanceof DeploymentResponse ? a.result() : a)))
    : args;
  return encodeArgs(values);
}

type Replica = tray.ActorHandle<ReplicaMethods>;

function call(
  app: string,
  deployment: string,
  options: HandleOptions,
  method: string,
  args: unknown[],
): unknown {
  const router = routerFor(app, deployment);
  if (!options.stream) {
    const promise = (async () => {
      const sent = await resolveArgs(args);
      const reply = await router.assign<RequestReply>((r: Replica) =>
        r.handleRequest.remote(method, ...sent),
      );
      return (reply as Extract<RequestReply, { rejected: false }>).value;
    })();
    return new DeploymentResponse(promise);
  }
  let actorOf: Replica | undefined;
  const started = (async () => {
    const sent = await resolveArgs(args);
    const reply = await router.assign<StreamStart>((r: Replica) => {
      actorOf = r;
      return r.startStream.remote(method, ...sent);
    });
    return { streamId: (reply as Extract<StreamStart, { rejected: false }>).streamId, actor: actorOf! };
  })();
  started.catch(() => {});
  return new DeploymentResponseGenerator(async function* () {
    const { streamId, actor } = await started;
    const done = router.streamStarted();
    let finished = false;
    try {
      for (;;) {
        const batch = await tray.get(actor.nextItems.remote(streamId));
        for (const item of batch.items) yield item;
        if (batch.done) {
          finished = true;
          return;
        }
      }
    } finally {
      done();
      if (!finished) actor.cancelStream.remote(streamId);
    }
  });
}

/** A handle to `deployment` of application `app`. */
export function makeHandle<T = any>(
  deployment: string,
  app: string,
  options: HandleOptions,
): DeploymentHandle<T> {
  const identity = { app, deployment };
  const methods = new Map<string, HandleMethod>();
  const methodOf = (name: string): HandleMethod => {
    let m = methods.get(name);
    if (m === undefined) {
      m = { remote: (...args: unknown[]) => call(app, deployment, options, name, args) as never };
      methods.set(name, m);
    }
    return m;
  };
  const base = {
    deploymentName: deployment,
    appName: app,
    remote: (...args: unknown[]) => call(app, deployment, options, options.methodName ?? '__call__', args),
    options: (more: HandleOptions) =>
      makeHandle(deployment, app, { ...options, ...checkHandleOptions(more) }),
    toString: () => `DeploymentHandle(${app}/${deployment})`,
  } as Record<string | symbol, unknown>;
  return new Proxy(base, {
    get(target, prop) {
      if (prop === HANDLE_IDENTITY) return identity;
      if (typeof prop === 'symbol') return target[prop];
      if (Object.hasOwn(target, prop)) return target[prop];
      if (NOT_METHODS.has(prop)) return undefined;
      return methodOf(prop);
    },
  }) as unknown as DeploymentHandle<T>;
}

function checkHandleOptions(options: HandleOptions): HandleOptions {
  if (options === null || typeof options !== 'object')
    throw new TypeError('handle.options() takes an object');
  for (const key of Object.keys(options)) {
    if (key !== 'methodName' && key !== 'stream') {
      throw new TypeError(`handle.options(): ${key} is not an option (known: methodName, stream)`);
    }
  }
  if (
    options.methodName !== undefined &&
    (typeof options.methodName !== 'string' || options.methodName === '')
  ) {
    throw new TypeError('handle.options(): methodName must be a non-empty string');
  }
  return options;
}
