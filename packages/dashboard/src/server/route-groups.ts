// Every route group the dashboard serves, in one list: a feature adds its `src/<feature>/routes.ts`
// and one line here. Order matters only for duplicate routes, which the router refuses.
import { jobRoutes } from '../jobs/routes.js';
import { metricsRoutes } from '../metrics/routes.js';
import { serveRoutes } from '../serve/routes.js';
import { stateRoutes } from '../state/routes.js';
import { uiRoutes } from '../ui/routes.js';
import { versionRoutes } from '../version/routes.js';
import type { RouteGroup } from './context.js';

export const ROUTE_GROUPS: RouteGroup[] = [
  versionRoutes,
  jobRoutes,
  uiRoutes,
  metricsRoutes,
  stateRoutes,
  serveRoutes,
];
