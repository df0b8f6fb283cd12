#!/usr/bin/env node
// Builds the web UI (src/ui/web) into static files under dist/ui, which src/ui/routes.ts serves:
//   dist/ui/index.html                 the page (no-cache; names the hashed assets)
//   dist/ui/assets/app-<hash>.js|.css  the bundle, named by content hash (cached for a year)
//   dist/ui/manifest.json              { files: { "/assets/...": { type, sha256 } } } for the server
// Preact and uPlot are bundled in; nothing is fetched from a CDN at run time. Runs after tsup
// (whose clean step empties dist/). `--watch` rebuilds on change while developing.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'src/ui/web');
const out = join(root, 'dist/ui');

const TYPES = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

async function build() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'assets'), { recursive: true });
  const result = await esbuild.build({
    entryPoints: { app: join(web, 'entry.ts') },
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(out, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
    tsconfig: join(web, 'tsconfig.json'),
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => join(root, relative(root, file)));
  const named = (ext) => {
    const file = outputs.find((f) => f.endsWith(ext) && !f.endsWith('.map'));
    if (!file) throw new Error(`build-ui: esbuild wrote no ${ext} bundle`);
    return `/assets/${relative(join(out, 'assets'), file)}`;
  };
  const html = readFileSync(join(web, 'index.html'), 'utf8')
    .replace('%APP_JS%', named('.js'))
    .replace('%APP_CSS%', named('.css'));
  writeFileSync(join(out, 'index.html'), html);
  const files = {};
  for (const file of [...outputs, join(out, 'index.html')]) {
    const ext = file.slice(file.lastIndexOf('.'));
    const type = TYPES[ext] ?? (file.endsWith('.LEGAL.txt') ? 'text/plain; charset=utf-8' : undefined);
    if (!type) continue;
    const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    files[`/${relative(out, file).split('\\').join('/')}`] = { type, sha256 };
  }
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify({ files }, null, 2)}\n`);
  const sizes = Object.entries(result.metafile.outputs)
    .filter(([f]) => !f.endsWith('.map'))
    .map(([f, o]) => `${relative(out, join(root, relative(root, f)))} ${(o.bytes / 1024).toFixed(1)} KiB`);
  console.log(`build-ui: ${sizes.join(', ')}`);
}

if (process.argv.includes('--watch')) {
  const { watch } = await import('node:fs');
  await build();
  let pending;
  watch(web, { recursive: true }, () => {
    clearTimeout(pending);
    pending = setTimeout(() => build().catch((err) => console.error(err.message)), 100);
  });
} else {
  await build();
}
