// @tray/protocol: the contracts of proto/ as TypeScript, the framed transport of the hot
// paths, and the gRPC helpers of the control plane.
export { tray } from '../generated/proto.js';
export * from '../generated/services.js';
export { disableScopedCodeCache, withCodeCache } from './code-cache.js';
export { sendToParent } from './daemon-ipc.js';
export {
  type CarriesErrorInfo,
  ConnectionClosedError,
  type ErrorInfo,
  ErrorType,
  errorTypeOf,
  errorWithInfo,
  ProtocolError,
  RemoteError,
  RequestTimeoutError,
  toErrorInfo,
} from './errors.js';
export { addressTarget } from './framed/address-target.js';
export {
  Connection,
  type ConnectionOptions,
  type ReplyCallback,
  type RequestOptions,
} from './framed/connection.js';
export {
  type ConnectOptions,
  connect,
  type FramedServer,
  type ListenOptions,
  listen,
  type Target,
  tokenMatches,
} from './framed/endpoint.js';
export { DEFAULT_MAX_FRAME_BYTES, FrameError, type PayloadSink } from './framed/frame.js';
export { FrameParts } from './framed/frame-writer.js';
export { PeerConnections, type PeerConnectionsOptions } from './framed/peer-connections.js';
export {
  createGrpcClient,
  type GrpcCallOptions,
  type GrpcClientOptions,
  type GrpcClientTlsOptions,
  type GrpcStreamOptions,
  type ReplyStream,
  type TrayGrpcClient,
} from './grpc/client.js';
export { GrpcClients, rayletGrpcAddress } from './grpc/clients.js';
export { preloadGrpc } from './grpc/grpc-js.js';
export {
  createGrpcServer,
  DEFAULT_GRPC_MAX_RECEIVE_BYTES,
  type GrpcCallContext,
  type GrpcServerOptions,
  GrpcStatus,
  type GrpcTlsOptions,
  type ServerStreamCall,
  type ServerStreamHandler,
  type ServiceHandlers,
  type TrayGrpcServer,
  type UnaryHandler,
} from './grpc/server.js';
export { type ServiceTable, serviceDefinition } from './grpc/service.js';
export { ERROR_TRAILER } from './grpc/status.js';
export {
  type MetricsEndpoint,
  type MetricsEndpointOptions,
  serveMetrics,
} from './http/metrics-endpoint.js';
export { IdBytes, type IdKind } from './ids.js';
export {
  defineMethod,
  type Message,
  type MessageType,
  type MethodDef,
  type MethodKind,
  methodId,
  type RequestOf,
  type ResponseOf,
} from './method.js';
export { TASK_EVENT_STATES, TaskEventRow } from './task-event-rows.js';
export {
  type ActorCreationFields,
  type ActorTaskFields,
  actorCreationTaskSpec,
  actorTaskSpec,
  leaseTaskSpec,
  type NormalTaskFields,
  normalTaskSpec,
  type TaskCaller,
  taskAttempt,
} from './task-spec.js';
export { processTls, resetProcessTls, type TlsConfig, tlsFromEnv } from './tls-config.js';
export {
  type ArgumentErrors,
  alreadyExists,
  apiErrors,
  checkByteCount,
  checkBytesLike,
  checkId,
  checkIdBytes,
  checkIdList,
  checkLeaseId,
  checkString,
  checkTimeoutMs,
  describeValue,
  invalidArgument,
  notFound,
  requireMessage,
  requireName,
  wireErrors,
} from './validation.js';
