// Serve's errors, exported by name. The proxy maps them to HTTP statuses: BackPressureError and
// DeploymentUnavailableError → 503 with Retry-After, RequestTimeoutError → 408; a cancelled
// DeploymentResponse rejects with RequestCancelledError; a user error
// thrown in a replica reaches a handle caller as @tray/core's TaskError and an HTTP client as 500.
import { TrayError } from '@tray/core';

/** Every replica is at maxOngoingRequests and the deployment's queue (maxQueuedRequests) is full. */
export class BackPressureError extends TrayError {}

/** The deployment has no running replica to take a request (deploy failed, scaling from zero timed out, deleted). */
export class DeploymentUnavailableError extends TrayError {}

/** A request ran past its timeout (http.requestTimeoutMs or the handle's timeout). */
export class RequestTimeoutError extends TrayError {}

/** The request was cancelled (DeploymentResponse.cancel(), or the HTTP client went away). */
export class RequestCancelledError extends TrayError {}
