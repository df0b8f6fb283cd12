// @tray/serve: Ray Serve for tray. `import * as serve from '@tray/serve'` gives these names
// (LIBRARIES.md's Serve section).
export { type Application, type Deployment, deployment } from './api/deployment.js';
export {
  deleteApp as delete,
  getAppHandle,
  getDeploymentHandle,
  type RunOptions,
  run,
  type StartOptions,
  shutdown,
  start,
  status,
} from './api/serve.js';
export type { AutoscalingConfig, DeploymentOptions } from './config/options.js';
export type {
  ApplicationStatus,
  ApplicationStatusName,
  DeploymentStatus,
  DeploymentStatusName,
  ReplicaStateName,
  ServeStatus,
} from './controller/types.js';
export {
  BackPressureError,
  DeploymentUnavailableError,
  RequestCancelledError,
  RequestTimeoutError,
} from './errors.js';
export type { DeploymentHandle, HandleOptions } from './handle/handle.js';
export { DeploymentResponse, DeploymentResponseGenerator } from './handle/response.js';
export { type FetchApp, type IngressClass, type IngressOptions, ingress } from './http/ingress.js';
export type { RouteTable } from './http/route-table.js';
export { HTTP_METHOD } from './http/wire.js';
export { type BatchOptions, batch } from './replica/batch.js';
export { getRequestContext, type RequestContext } from './replica/request-context.js';
