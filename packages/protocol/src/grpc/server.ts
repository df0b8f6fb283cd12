// The control plane's gRPC server: serves generated service tables with plain async handlers,
// checks the cluster token (bearer metadata, constant time) before any handler runs — in an
// interceptor, on the call's headers, so an unauthenticated call is refused before a byte of its
// message is read — caps each received message (8 MiB unless told otherwise: control-plane
// messages are small, data travels through the stores), binds to loopback unless told otherwise,
// and answers a handler's error with its ErrorInfo in the `tray-error-bin` trailer.
import type {
  Metadata,
  ServerInterceptingCallInterface,
  ServerInterceptor,
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { ErrorType, toErrorInfo } from '../errors.js';
import { tokenMatches } from '../framed/endpoint.js';
import type { Message, MethodDef } from '../method.js';
import { processTls } from '../tls-config.js';
import { grpcJs } from './grpc-js.js';
import { type ServiceTable, serviceDefinition } from './service.js';
import { statusFromErrorInfo } from './status.js';

export interface GrpcTlsOptions {
  /** PEM certificate chain of this server (or client, for mutual TLS). */
  cert: Buffer;
  /** PEM private key matching `cert`. */
  key: Buffer;
  /** PEM CA bundle. On a server, setting it requires clients to present a certificate it signed. */
  ca?: Buffer;
}

export interface GrpcServerOptions {
  /** Require `authorization: Bearer <token>` on every call. */
  token?: string;
  /** Serve TLS instead of plaintext (default: the process's mutual TLS, TRAY_USE_TLS); false: plain. */
  tls?: GrpcTlsOptions | false;
  /**
   * Largest request message accepted (default `DEFAULT_GRPC_MAX_RECEIVE_BYTES`, 8 MiB); a larger
   * one is refused with RESOURCE_EXHAUSTED from its length prefix, before it is buffered.
   */
  maxReceiveMessageBytes?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: Record<string, unknown>;
  /**
   * Told when a unary call's handler answered: the method's name (`Service.Method`), how long
   * the handler took in ms, and whether it succeeded (the GCS's RPC latency histogram).
   */
  onCallFinished?: (method: string, ms: number, ok: boolean) => void;
}

/** What a control-plane gRPC server accepts in one request message unless told otherwise. */
export const DEFAULT_GRPC_MAX_RECEIVE_BYTES = 8 * 1024 * 1024;

/** What a unary handler knows about its call besides the request. */
export interface GrpcCallContext {
  readonly metadata: Metadata;
  /** The peer's address, as grpc-js reports it. */
  readonly peer: string;
  /** True once the client cancelled or its deadline passed. */
  readonly cancelled: boolean;
}

/** The writable side of a server-streaming call. The stream stays open until `end()`. */
export interface ServerStreamCall<Res> extends GrpcCallContext {
  /** Send one message; false means the client is slow (wait for 'drain'). */
  write(message: Message<Res>): boolean;
  end(): void;
  on(event: 'cancelled' | 'drain' | 'close', listener: () => void): this;
  once(event: 'cancelled' | 'drain' | 'close', listener: () => void): this;
}

export type UnaryHandler<Req, Res> = (
  request: Req,
  call: GrpcCallContext,
) => Message<Res> | Promise<Message<Res>>;
export type ServerStreamHandler<Req, Res> = (
  request: Req,
  call: ServerStreamCall<Res>,
) => void | Promise<void>;

/** Handlers for the methods of a service table; a method left out answers UNIMPLEMENTED. */
export type ServiceHandlers<S extends ServiceTable> = {
  [K in keyof S]?: S[K] extends MethodDef<infer Req, infer Res, infer Kind>
    ? Kind extends 'server-stream'
      ? ServerStreamHandler<Req, Res>
      : UnaryHandler<Req, Res>
    : never;
};

export interface TrayGrpcServer {
  addService<S extends ServiceTable>(service: S, handlers: ServiceHandlers<S>): this;
  /**
   * Bind and start serving; resolves with the bound port (0 picks a free one). `host` may also
   * be a full grpc-js address such as `unix:/path/to/socket` (the promise then resolves with 0).
   */
  listen(host?: string, port?: number): Promise<number>;
  /** Stop: let calls in progress finish for up to `graceMs` (default 1 s), then cut them off. */
  close(graceMs?: number): Promise<void>;
}

const BEARER = 'Bearer ';

export function createGrpcServer(options: GrpcServerOptions = {}): TrayGrpcServer {
  const grpc = grpcJs();
  const { Server, ServerCredentials } = grpc;
  const expected = options.token !== undefined ? Buffer.from(options.token, 'utf8') : undefined;
  let bound = false;

  /** Undefined when the call may proceed, else why not. */
  const rejectAuth = (metadata: Metadata): string | undefined => {
    if (expected === undefined) return undefined;
    const header = metadata.get('authorization')[0];
    if (typeof header !== 'string' || !header.startsWith(BEARER)) {
      return 'this server requires the cluster token: send `authorization: Bearer <token>` metadata';
    }
    if (!tokenMatches(expected, Buffer.from(header.slice(BEARER.length), 'utf8'))) {
      return 'the cluster token is wrong';
    }
    return undefined;
  };
  const unauthenticated = (message: string) =>
    statusFromErrorInfo({ type: ErrorType.UNAUTHENTICATED, message });

  // The token is checked on the headers: a refused call's message stays unread (grpc-js reads a
  // call's body only once its handler asks for it), so an unauthenticated peer makes the server
  // buffer nothing. The handlers check again (cheap), in case grpc-js ever bypasses this.
  const authInterceptor: ServerInterceptor = (_method, call: ServerInterceptingCallInterface) =>
    new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, forward) {
            const denied = rejectAuth(metadata);
            if (denied === undefined) forward(metadata);
            else call.sendStatus(unauthenticated(denied));
          },
        });
      },
    });
  const server = new Server({
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_GRPC_MAX_RECEIVE_BYTES,
    ...options.channelOptions,
    ...(expected !== undefined ? { interceptors: [authInterceptor] } : {}),
  } as Record<string, unknown>);

  const finished = options.onCallFinished;
  const wrapUnary =
    (fn: UnaryHandler<any, any>, method: string) =>
    (call: ServerUnaryCall<any, any>, reply: sendUnaryData<any>) => {
      const started = finished ? performance.now() : 0;
      const callback: sendUnaryData<any> = finished
        ? (err, value) => {
            finished(method, performance.now() - started, err === null);
            reply(err, value);
          }
        : reply;
      const denied = rejectAuth(call.metadata);
      if (denied !== undefined) {
        callback(unauthenticated(denied));
        return;
      }
      const context: GrpcCallContext = {
        metadata: call.metadata,
        peer: call.getPeer(),
        get cancelled() {
          return call.cancelled;
        },
      };
      let result: unknown;
      try {
        result = fn(call.request, context);
      } catch (err) {
        callback(statusFromErrorInfo(toErrorInfo(err)));
        return;
      }
      Promise.resolve(result).then(
        (reply) => callback(null, reply ?? {}),
        (err) => callback(statusFromErrorInfo(toErrorInfo(err))),
      );
    };

  const wrapStream = (fn: ServerStreamHandler<any, any>) => (call: ServerWritableStream<any, any>) => {
    const denied = rejectAuth(call.metadata);
    if (denied !== undefined) {
      call.emit('error', unauthenticated(denied));
      return;
    }
    const fail = (err: unknown) => {
      if (!call.writableEnded && !call.cancelled) call.emit('error', statusFromErrorInfo(toErrorInfo(err)));
    };
    const stream = Object.assign(call, { peer: call.getPeer() }) as unknown as ServerStreamCall<any>;
    try {
      const result = fn(call.request, stream);
      if (result && typeof result.then === 'function') result.then(undefined, fail);
    } catch (err) {
      fail(err);
    }
  };

  const api: TrayGrpcServer = {
    addService(service, handlers) {
      const definition = serviceDefinition(service);
      const implementation: UntypedServiceImplementation = {};
      for (const [name, method] of Object.entries(service)) {
        const fn = (handlers as Record<string, unknown>)[name];
        if (fn === undefined) continue;
        if (typeof fn !== 'function')
          throw new TypeError(`the handler for ${method.name} must be a function`);
        implementation[name] =
          method.kind === 'server-stream'
            ? wrapStream(fn as ServerStreamHandler<any, any>)
            : wrapUnary(fn as UnaryHandler<any, any>, method.name);
      }
      for (const name of Object.keys(handlers)) {
        if (!(name in service)) {
          throw new TypeError(
            `${name} is not a method of this service (it has ${Object.keys(service).join(', ')})`,
          );
        }
      }
      server.addService(definition, implementation);
      return api;
    },

    listen(host = '127.0.0.1', port = 0) {
      if (bound) return Promise.reject(new Error('this gRPC server is already listening'));
      const address =
        host.includes(':') && !host.startsWith('[') && !host.startsWith('unix:') ? `[${host}]` : host;
      const target = host.startsWith('unix:') ? host : `${address}:${port}`;
      const tls: GrpcTlsOptions | undefined =
        host.startsWith('unix:') || options.tls === false ? undefined : (options.tls ?? processTls());
      const credentials = tls
        ? ServerCredentials.createSsl(
            tls.ca ?? null,
            [{ cert_chain: tls.cert, private_key: tls.key }],
            tls.ca !== undefined,
          )
        : ServerCredentials.createInsecure();
      return new Promise((resolve, reject) => {
        server.bindAsync(target, credentials, (err, boundPort) => {
          if (err) {
            reject(new Error(`cannot listen for gRPC on ${target}: ${err.message}`));
            return;
          }
          bound = true;
          resolve(boundPort);
        });
      });
    },

    close(graceMs = 1000) {
      return new Promise((resolve) => {
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          server.forceShutdown();
          finish();
        }, graceMs);
        server.tryShutdown(finish);
      });
    },
  };
  return api;
}

export { GrpcStatus } from './status-codes.js';
