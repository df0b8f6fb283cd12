// Ray's Jobs REST API (`/api/jobs/...`): filled in by the jobs commit.
import type { RouteGroup } from '../server/context.js';

export const jobRoutes: RouteGroup = () => {};
