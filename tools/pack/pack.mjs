// Packs every published @tray package (packages/*) with `npm pack`, as `npm publish` would
// (prepack and postpack run: object-store stages its prebuild and its C++ source), into one
// directory. Used by check.mjs (publint, attw) and by test/e2e/packed-install.test.ts.
//   node tools/pack/pack.mjs [dir] [--json]   packs into dir (default: a new temporary
//                                             directory); --json: packAll's result as JSON
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The directories of the packages that are published: packages/* that are not private. */
export function publishedPackages() {
  const dir = path.join(repoRoot, 'packages');
  return readdirSync(dir)
    .map((name) => path.join(dir, name))
    .filter((pkg) => !JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')).private)
    .sort();
}

/**
 * Packs every published package into `dest`. Returns, per package: name, version, the
 * tarball's path, its size and unpacked size in bytes, its file list, its package.json and its
 * directory.
 */
export function packAll(dest) {
  mkdirSync(dest, { recursive: true });
  const workspaces = publishedPackages().flatMap((pkg) => ['-w', path.relative(repoRoot, pkg)]);
  const out = execFileSync(
    'npm',
    ['pack', ...workspaces, '--json', '--pack-destination', dest, '--loglevel', 'error'],
    { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 },
  );
  // prepack scripts print to stdout before npm's JSON (a list of objects): read from the '['.
  const manifests = new Map(
    publishedPackages().map((pkg) => {
      const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8'));
      return [manifest.name, { manifest, dir: pkg }];
    }),
  );
  return JSON.parse(out.slice(out.indexOf('\n[') + 1)).map((entry) => ({
    name: entry.name,
    version: entry.version,
    file: path.join(dest, entry.filename),
    size: entry.size,
    unpackedSize: entry.unpackedSize,
    files: entry.files.map((f) => f.path),
    manifest: manifests.get(entry.name)?.manifest,
    dir: manifests.get(entry.name)?.dir,
  }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv.slice(2).find((arg) => !arg.startsWith('--'));
  const dest = dir ? path.resolve(dir) : mkdtempSync(path.join(os.tmpdir(), 'tray-pack-'));
  const packed = packAll(dest);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(packed));
    process.exit(0);
  }
  for (const p of packed) {
    console.log(
      `${p.name}@${p.version}  ${(p.size / 1024).toFixed(1)} kB packed, ${(p.unpackedSize / 1024).toFixed(1)} kB unpacked  ${p.file}`,
    );
  }
}
