// @tray/dashboard: the HTTP server of the head node (Ray's dashboard, port 8265) and the
// clients of its APIs. The server runs as its own process (`@tray/dashboard/main`, started by
// `tray start --head` and by tray.init()); route groups register on its Router.
export {
  type Dashboard,
  type DashboardOptions,
  DEFAULT_DASHBOARD_PORT,
  startDashboard,
} from './dashboard.js';
export {
  JobApiError,
  type JobInfo,
  type JobStatus,
  JobSubmissionClient,
  type JobSubmissionClientOptions,
  type SubmitJobOptions,
} from './jobs/client.js';
export { type DashboardReply, dashboardCa, dashboardRequest, dashboardStream } from './jobs/http-request.js';
export type { JobDetails } from './jobs/job-info.js';
export type { DashboardContext, RouteGroup } from './server/context.js';
export { badRequest, HttpError, notFound } from './server/http-error.js';
export { DEFAULT_BODY_LIMIT, readJson, sendJson, sendText } from './server/http-io.js';
export {
  type DashboardRequest,
  type Handler,
  type RouteOptions,
  Router,
  type SocketHandler,
} from './server/router.js';
