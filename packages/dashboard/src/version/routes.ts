// `GET /api/version`, as Ray's: the Jobs API version a client checks before it talks to us
// (Ray's JobSubmissionClient requires "version" ≥ its own), and the engine's version.
import { createRequire } from 'node:module';
import type { RouteGroup } from '../server/context.js';
import { sendJson } from '../server/http-io.js';

/** Ray's jobs API version this server speaks (its CURRENT_VERSION). */
export const JOBS_API_VERSION = '4';

function trayVersion(): string {
  try {
    return createRequire(import.meta.url)('@tray/dashboard/package.json').version as string;
  } catch {
    return 'unknown';
  }
}

export const versionRoutes: RouteGroup = (router, ctx) => {
  const version = trayVersion();
  const sessionName = ctx.sessionDir.split(/[\\/]/).filter(Boolean).pop() ?? '';
  router.get('/api/version', (_req, res) =>
    sendJson(res, 200, {
      version: JOBS_API_VERSION,
      ray_version: version,
      tray_version: version,
      ray_commit: '',
      session_name: sessionName,
    }),
  );
};
