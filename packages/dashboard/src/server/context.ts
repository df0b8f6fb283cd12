// What every route group gets: the cluster it serves (GCS client and address, the session
// directory), the process's tray driver (joined with tray.init({ address }) on first use), a logger that never
// sees the token, and a place to register cleanups that run when the dashboard stops.
import type * as Tray from '@tray/core';
import type { GcsClient } from '@tray/gcs';
import type { Router } from './router.js';

export interface DashboardContext {
  gcs: GcsClient;
  /** `host:port` of the GCS. */
  gcsAddress: string;
  /**
   * The cluster token, for calls to the cluster's own servers (a raylet's gRPC, say). Never log
   * it, put it in a response, or send it anywhere else.
   */
  token: string;
  /** The head node's session directory (logs/ holds the job logs). */
  sessionDir: string;
  /** The `http://host:port` the dashboard serves on (known once it listens). */
  url(): string;
  log(message: string): void;
  /** This process's tray driver, joined on first use (tray.init({ address })), e.g. to create actors. */
  driver(): Promise<typeof Tray>;
  /** Runs when the dashboard stops (after the server stopped accepting requests). */
  onClose(cleanup: () => Promise<void> | void): void;
}

/** A route group (one file per group: src/jobs/routes.ts, src/state/routes.ts, ...). */
export type RouteGroup = (router: Router, ctx: DashboardContext) => void | Promise<void>;
