// Serves the web UI's static files (built by scripts/build-ui.mjs into dist/ui): `/` is the page,
// `/assets/<name>-<hash>.<ext>` its bundle. These are the dashboard's only public routes besides
// the login: they hold code and no cluster data, and the page shows the login prompt until the
// session cookie is set. Files are read once at start (the manifest lists them with their
// content type and SHA-256), served from memory, gzipped when the browser accepts it, with an
// ETag; hashed assets are cached for a year (immutable), the page is revalidated every time.
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { RouteGroup } from '../server/context.js';
import { sendText } from '../server/http-io.js';

/** What the page may load and talk to: only this origin (its fetches and the log WebSocket). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // uPlot and Preact set inline style attributes on the elements they draw.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

interface StaticFile {
  type: string;
  etag: string;
  body: Buffer;
  gzipped?: Buffer;
}

const moduleDir = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));

/** dist/ui of this package, from src/ui (tests) or dist (the built server) alike. */
export function defaultUiDir(): string {
  for (let dir = moduleDir; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === '@tray/dashboard') {
      return join(dir, 'dist', 'ui');
    }
  }
  return join(moduleDir, 'ui');
}

/** The built files listed in `<uiDir>/manifest.json`, by URL path; undefined when the UI is not built. */
export function loadUiFiles(uiDir: string): Map<string, StaticFile> | undefined {
  const manifestPath = join(uiDir, 'manifest.json');
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    files: Record<string, { type: string; sha256: string }>;
  };
  const files = new Map<string, StaticFile>();
  for (const [path, { type, sha256 }] of Object.entries(manifest.files)) {
    const body = readFileSync(join(uiDir, path));
    const compressible = body.length > 1024 && !type.startsWith('image/');
    files.set(path, {
      type,
      etag: `"${sha256.slice(0, 32)}"`,
      body,
      gzipped: compressible ? gzipSync(body) : undefined,
    });
  }
  return files;
}

function serve(req: IncomingMessage, res: ServerResponse, file: StaticFile, immutable: boolean): void {
  const headers: Record<string, string | number> = {
    'content-type': file.type,
    etag: file.etag,
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    vary: 'accept-encoding',
  };
  if (file.type.startsWith('text/html')) {
    headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
    headers['x-frame-options'] = 'DENY';
  }
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = file.gzipped && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? file.gzipped! : file.body;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(body);
}

/** The UI's routes over the files in `uiDir` (default: this package's dist/ui). */
export function uiRoutesFrom(uiDir = defaultUiDir()): RouteGroup {
  return (router, ctx) => {
    const files = loadUiFiles(uiDir);
    if (!files) ctx.log(`the web UI is not built (no ${join(uiDir, 'manifest.json')}): / answers 503`);
    const page = (req: { raw: IncomingMessage }, res: ServerResponse) => {
      const index = files?.get('/index.html');
      if (!index) {
        return sendText(
          res,
          503,
          'The tray dashboard web UI is not built: run `npm run build` in packages/dashboard (the APIs under /api work without it).\n',
        );
      }
      serve(req.raw, res, index, false);
    };
    router.get('/', page, { public: true });
    router.get('/index.html', page, { public: true });
    router.get(
      '/assets/{file}',
      (req, res) => {
        const file = files?.get(`/assets/${req.params.file}`);
        if (!file)
          return sendText(
            res,
            404,
            `no UI asset ${req.params.file} (the page may be older than the server: reload it)\n`,
          );
        serve(req.raw, res, file, true);
      },
      { public: true },
    );
  };
}

export const uiRoutes: RouteGroup = uiRoutesFrom();
