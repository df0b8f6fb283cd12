// What crosses between serve's processes besides wire.ts's HTTP seam: the application spec the
// driver sends the controller, what the controller tells routers about a deployment, what
// routers and replicas report for autoscaling, and serve.status()'s shape (Ray's ServeStatus).

import type { DeploymentCode } from '../api/deployment.js';
import type { ResolvedOptions } from '../config/options.js';

/** A bound argument that is another deployment: the replica puts a DeploymentHandle in its place. */
export const HANDLE_MARKER = '__serve_deployment_handle__';
export interface HandleMarker {
  [HANDLE_MARKER]: { app: string; deployment: string };
}

export function isHandleMarker(value: unknown): value is HandleMarker {
  return value !== null && typeof value === 'object' && HANDLE_MARKER in value;
}

export interface DeploymentSpec {
  name: string;
  kind: 'class' | 'function';
  code: DeploymentCode;
  /** Constructor arguments, deployments in them as HandleMarkers. */
  initArgs: unknown[];
  options: ResolvedOptions;
  /** Changes when the code, the bound arguments or the actor options change (a rolling update). */
  codeVersion: string;
}

export interface AppSpec {
  name: string;
  /** null: not reachable over HTTP. */
  routePrefix: string | null;
  ingress: string;
  deployments: DeploymentSpec[];
}

export interface ReplicaInfo {
  replicaId: string;
  actorName: string;
}

/** What a router needs of a deployment; `version` grows on every change. */
export interface RoutingInfo {
  version: number;
  exists: boolean;
  status: DeploymentStatusName;
  message: string;
  replicas: ReplicaInfo[];
  maxOngoingRequests: number;
  maxQueuedRequests: number;
  metricsIntervalMs: number | undefined;
}

export interface HandleMetrics {
  handleId: string;
  app: string;
  deployment: string;
  /** Requests waiting in the handle for a replica. */
  queued: number;
  /** Requests the handle has sent and not had answered. */
  ongoing: number;
}

export type ApplicationStatusName =
  | 'NOT_STARTED'
  | 'DEPLOYING'
  | 'DEPLOY_FAILED'
  | 'RUNNING'
  | 'UNHEALTHY'
  | 'DELETING';
export type DeploymentStatusName =
  | 'UPDATING'
  | 'HEALTHY'
  | 'UNHEALTHY'
  | 'DEPLOY_FAILED'
  | 'UPSCALING'
  | 'DOWNSCALING';
export type ReplicaStateName = 'STARTING' | 'UPDATING' | 'RUNNING' | 'STOPPING';

export interface DeploymentStatus {
  status: DeploymentStatusName;
  message: string;
  replicaStates: Partial<Record<ReplicaStateName, number>>;
  /** The replica count the controller aims for now. */
  targetReplicas: number;
}

export interface ApplicationStatus {
  status: ApplicationStatusName;
  message: string;
  routePrefix: string | null;
  /** When the application was last deployed (ms since the epoch; Ray's last_deployed_time_s). */
  lastDeployedTimeMs: number;
  deployments: Record<string, DeploymentStatus>;
}

export interface ServeStatus {
  proxies: Record<string, string>;
  applications: Record<string, ApplicationStatus>;
}

export type RequestReply =
  | { rejected: true; ongoing: number }
  | { rejected: false; value: unknown; ongoing: number };
export type StreamStart =
  | { rejected: true; ongoing: number }
  | { rejected: false; streamId: number; ongoing: number };

/** Which method a request calls, and its id (the handle's, for cancelRequest). */
export interface RequestCall {
  method: string;
  requestId: string;
}

/**
 * The answer to an HTTP request (wire.ts's items) in one reply when the response was complete
 * by then (`done`); otherwise the rest streams from `streamId` through nextItems.
 */
export type HttpReply =
  | { rejected: true; ongoing: number }
  | { rejected: false; items: unknown[]; done: boolean; streamId?: number; ongoing: number };

/** The replica actor's methods that handles call (replica/replica.ts implements them). */
export interface ReplicaMethods {
  getNumOngoingRequests(): number;
  handleRequest(call: RequestCall, ...args: unknown[]): Promise<RequestReply>;
  startStream(call: RequestCall, ...args: unknown[]): Promise<StreamStart>;
  handleHttp(call: RequestCall, request: unknown): Promise<HttpReply>;
  nextItems(streamId: number): Promise<{ items: unknown[]; done: boolean }>;
  cancelStream(streamId: number): void;
  /** Aborts the request's signal on the replica (it may have finished, or not arrived yet). */
  cancelRequest(requestId: string): void;
  /** Where the replica's direct channel listens (channel/server.ts); null without a token. */
  getChannel(): Promise<import('../channel/server.js').ChannelAddress | null>;
}

/** The controller actor's methods that handles and serve's API call (controller.ts implements them). */
export interface ControllerMethods {
  listenRouting(app: string, deployment: string, knownVersion: number, waitMs: number): Promise<RoutingInfo>;
  recordHandleMetrics(metrics: HandleMetrics): void;
  deployApplication(spec: AppSpec): Promise<void>;
  deleteApplication(name: string): Promise<void>;
  getStatus(): Promise<ServeStatus>;
  getRouteTable(): Promise<import('../http/route-table.js').RouteTable>;
  getIngress(app: string): Promise<string | undefined>;
  getProxyOptions(): import('../config/proxy-options.js').ProxyManagerOptions;
  shutdown(): Promise<void>;
}
