// The control plane's gRPC client: one channel to one server, the cluster token on every call,
// a deadline on every unary call, and retries with exponential backoff and jitter when the
// server is unavailable or slow (every tray RPC is idempotent). Failures reject with the same
// RemoteError as the framed transport, carrying the server's ErrorInfo.
import type { CallOptions, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { ErrorType, RemoteError } from '../errors.js';
import type { Message, MethodDef } from '../method.js';
import { processTls } from '../tls-config.js';
import { grpcJs } from './grpc-js.js';
import { methodDefinition } from './service.js';
import { hasErrorInfo, remoteErrorFromStatus } from './status.js';
import { GrpcStatus as status } from './status-codes.js';

export interface GrpcClientTlsOptions {
  /** PEM CA bundle that signed the server's certificate (the system roots when omitted). */
  ca?: Buffer;
  /** PEM client certificate and key, for servers that require mutual TLS. */
  cert?: Buffer;
  key?: Buffer;
  /** Expect this name in the server's certificate instead of the address's host. */
  serverName?: string;
}

export interface GrpcClientOptions {
  token?: string;
  /** Connect with TLS (default: the process's mutual TLS, TRAY_USE_TLS); false: plain. */
  tls?: GrpcClientTlsOptions | false;
  /** Deadline of each attempt of a unary call (default 10 s). */
  deadlineMs?: number;
  /** Retries after the first attempt of an idempotent call (default 3). */
  retries?: number;
  /** First backoff between attempts (default 100 ms); it doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  /** Cap of the backoff (default 2 s). */
  maxBackoffMs?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: Record<string, unknown>;
  /**
   * The reconnect window: a call that finds the server unreachable (UNAVAILABLE from the
   * transport, not from a handler) keeps retrying, whatever `retries` says, until this long
   * after its first such failure, then fails with UNAVAILABLE naming the address and the window.
   * For a server that restarts at the same address (the GCS); unset or 0: `retries` alone decides.
   */
  reconnectTimeoutMs?: number;
  /** Names the server and the setting of the window in that final error (default 'the server'). */
  serverLabel?: string;
  reconnectSetting?: string;
}

export interface GrpcCallOptions {
  /** Deadline of each attempt, overriding the client's. */
  deadlineMs?: number;
  /** Retry on UNAVAILABLE or DEADLINE_EXCEEDED (default true: every tray RPC is idempotent). */
  idempotent?: boolean;
  /** Retries after the first attempt, overriding the client's. */
  retries?: number;
  /** This call's reconnect window, overriding the client's (0: none). */
  reconnectTimeoutMs?: number;
  /** Called before each retry with the attempt that failed (1-based) and its error. */
  onRetry?: (attempt: number, error: RemoteError) => void;
  /**
   * Wait for the server to come up (until the deadline) instead of failing at once with
   * UNAVAILABLE while nothing listens at the address: for a process that starts beside the
   * server it calls.
   */
  waitForReady?: boolean;
}

export interface GrpcStreamOptions {
  /** Deadline of the whole stream (none by default: streams are long-lived). */
  deadlineMs?: number;
}

export type ReplyStream<Res> = AsyncIterable<Res> & {
  /** Stop the stream; an iteration in progress ends without an error. */
  cancel(): void;
};

export interface TrayGrpcClient {
  /** The `host:port` (or `unix:` path) this client talks to. */
  readonly address: string;
  call<Req, Res>(method: MethodDef<Req, Res>, request: Message<Req>, options?: GrpcCallOptions): Promise<Res>;
  stream<Req, Res>(
    method: MethodDef<Req, Res>,
    request: Message<Req>,
    options?: GrpcStreamOptions,
  ): ReplyStream<Res>;
  close(): void;
}

const RETRYABLE = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);

const TLS_FAILURE = /certificate|ssl|tls|handshake|wrong version number/i;

/** An unreachable server whose failure was TLS's says so, and what to check. */
function explainTls(error: RemoteError, usingTls: boolean, address: string): RemoteError {
  if (error.grpcCode !== status.UNAVAILABLE || !usingTls || !TLS_FAILURE.test(error.message)) return error;
  return new RemoteError(
    {
      ...error.info,
      message:
        `${error.message} — the TLS handshake with ${address} failed: its certificate must be signed by ` +
        'the CA in TRAY_TLS_CA_CERT (and it must trust the CA of TRAY_TLS_SERVER_CERT)',
    },
    error.grpcCode,
  );
}

export function createGrpcClient(address: string, options: GrpcClientOptions = {}): TrayGrpcClient {
  if (typeof address !== 'string' || address.length === 0) {
    throw new TypeError(`a gRPC address is 'host:port' or 'unix:/path', got ${JSON.stringify(address)}`);
  }
  const { Client, credentials, Metadata } = grpcJs();
  const tls: GrpcClientTlsOptions | undefined =
    address.startsWith('unix:') || options.tls === false ? undefined : (options.tls ?? processTls());
  const channelCredentials = tls
    ? credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null)
    : credentials.createInsecure();
  const client = new Client(address, channelCredentials, {
    'grpc.max_receive_message_length': 512 * 1024 * 1024,
    // A server that comes up late is found quickly instead of after grpc's default 1 s+.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 2000,
    ...(tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {}),
    ...options.channelOptions,
  });
  const defaultDeadlineMs = options.deadlineMs ?? 10_000;
  const defaultRetries = options.retries ?? 3;
  const backoffMs = options.backoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 2000;
  const metadata = (waitForReady = false) => {
    const m = new Metadata(waitForReady ? { waitForReady: true } : undefined);
    if (options.token !== undefined) m.set('authorization', `Bearer ${options.token}`);
    return m;
  };
  let closed = false;
  const reconnectTimeoutMs = options.reconnectTimeoutMs ?? 0;
  const outage = (methodName: string, last: RemoteError, windowMs: number) =>
    new RemoteError(
      {
        ...last.info,
        type: ErrorType.UNAVAILABLE,
        message:
          `${methodName}: ${options.serverLabel ?? 'the server'} at ${address} could not be reached for ` +
          `${Math.round(windowMs / 100) / 10} s` +
          `${options.reconnectSetting ? ` (the reconnect window, ${options.reconnectSetting})` : ''}; ` +
          `is it running? Last error: ${last.message}`,
      },
      last.grpcCode,
    );

  const attempt = <Req, Res>(
    method: MethodDef<Req, Res>,
    request: Message<Req>,
    deadlineMs: number,
    waitForReady: boolean,
  ) =>
    new Promise<Res>((resolve, reject) => {
      const def = methodDefinition(method);
      const callOptions: CallOptions = { deadline: Date.now() + deadlineMs };
      client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        metadata(waitForReady),
        callOptions,
        (err: ServiceError | null, reply?: Res) => (err ? reject(err) : resolve(reply as Res)),
      );
    });

  return {
    address,

    async call(method, request, callOptions = {}) {
      if (closed) throw new Error(`${method.name}: this gRPC client to ${address} is closed`);
      if (method.kind !== 'unary') {
        throw new TypeError(`${method.name} is a ${method.kind} method: use client.stream()`);
      }
      const deadlineMs = callOptions.deadlineMs ?? defaultDeadlineMs;
      const retries = callOptions.idempotent === false ? 0 : (callOptions.retries ?? defaultRetries);
      const window = callOptions.reconnectTimeoutMs ?? reconnectTimeoutMs;
      let unreachableSince: number | undefined;
      for (let n = 1; ; n++) {
        try {
          return await attempt(method, request, deadlineMs, callOptions.waitForReady ?? false);
        } catch (err) {
          const failure = err as ServiceError;
          const error = explainTls(remoteErrorFromStatus(failure, method.name), tls !== undefined, address);
          // A handler's own error (it carries an ErrorInfo) is an answer, not a transport failure.
          const transport = !hasErrorInfo(failure);
          const retryable = RETRYABLE.has(failure.code) && transport;
          const unreachable =
            window > 0 &&
            callOptions.idempotent !== false &&
            transport &&
            failure.code === status.UNAVAILABLE;
          if (closed || !retryable) throw error;
          if (unreachable) {
            unreachableSince ??= Date.now();
            if (Date.now() - unreachableSince >= window) throw outage(method.name, error, window);
          } else if (n > retries) throw error;
          callOptions.onRetry?.(n, error);
          const ceiling = Math.min(maxBackoffMs, backoffMs * 2 ** (n - 1));
          // Equal jitter: at least half the backoff, so retries never stampede at zero delay.
          await new Promise((r) => setTimeout(r, ceiling / 2 + Math.random() * (ceiling / 2)));
        }
      }
    },

    stream(method, request, streamOptions = {}) {
      if (method.kind !== 'server-stream') {
        throw new TypeError(`${method.name} is a ${method.kind} method: use client.call()`);
      }
      if (closed) throw new Error(`${method.name}: this gRPC client to ${address} is closed`);
      const def = methodDefinition(method);
      const callOptions: CallOptions =
        streamOptions.deadlineMs !== undefined ? { deadline: Date.now() + streamOptions.deadlineMs } : {};
      const call: ClientReadableStream<any> = client.makeServerStreamRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        metadata(),
        callOptions,
      );
      let cancelled = false;
      async function* replies() {
        try {
          for await (const reply of call) yield reply;
        } catch (err) {
          if (cancelled && (err as ServiceError).code === status.CANCELLED) return;
          throw remoteErrorFromStatus(err as ServiceError, method.name);
        } finally {
          if (!cancelled) {
            cancelled = true;
            call.cancel();
          }
        }
      }
      const iterable = replies();
      return {
        [Symbol.asyncIterator]: () => iterable,
        cancel() {
          if (cancelled) return;
          cancelled = true;
          call.cancel();
        },
      };
    },

    close() {
      closed = true;
      client.close();
    },
  };
}
