// `npm`: packages installed with the node's own npm, once per distinct set, into a
// content-addressed directory of the node's cache; the worker's remote code resolves from that
// set before the job's own. Specs are registry names (`lodash@4.17.21`) or local tarballs and
// directories, which the driver uploads (so a second node gets them too) and which install
// with `--offline` when every spec is local: no network needed. With a lockfile
// (`{ packages, lockfile }`, npm-lockfile.ts) the node installs with `npm ci` from it instead.
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { packDirectory, packFile, unpackArchive } from '../package-archive.js';
import { isPackageUri, packageUri, parsePackageUri } from '../package-uri.js';
import { type RuntimeEnvPlugin, RuntimeEnvSetupFailure } from '../plugin.js';
import { diskUsage, runCommand } from '../run-command.js';
import {
  LOCAL_ROOT,
  LOCKFILE_NAME,
  npmErrorLines,
  parseLockfile,
  prepareLockfile,
  shippedRefs,
  splitSpec,
  tarballName,
} from './npm-lockfile.js';

export interface NpmValue {
  packages: string[];
  /** A package-lock.json's path (the driver's), then its uploaded URI: install with `npm ci`. */
  lockfile?: string;
}

const COMPLETE = '.tray-complete';
const LOCAL_DIR_SUFFIX = 'dir';

function isLocalSpec(spec: string): boolean {
  // A tarball URL (https://host/pkg-1.0.0.tgz) is npm's to fetch, however it ends.
  if (/^(https?|git\+[a-z]+|git):\/\//i.test(spec)) return false;
  return (
    spec.startsWith('.') ||
    spec.startsWith('/') ||
    spec.startsWith('file:') ||
    spec.endsWith('.tgz') ||
    spec.endsWith('.tar.gz')
  );
}

/** The npm of this node: next to the running node binary, else the one on PATH. */
export function nodeNpm(): string {
  const beside = join(dirname(process.execPath), 'npm');
  return existsSync(beside) ? beside : 'npm';
}

export const npmPlugin: RuntimeEnvPlugin<NpmValue> = {
  name: 'npm',
  priority: 7,
  validate(value) {
    const packages = Array.isArray(value)
      ? value
      : value !== null && typeof value === 'object' && 'packages' in value
        ? (value as { packages: unknown }).packages
        : undefined;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const extra = Object.keys(value).filter((k) => k !== 'packages' && k !== 'lockfile');
      if (extra.length > 0)
        throw new TypeError(
          `runtimeEnv.npm: unknown field ${extra[0]} (give an array of specs or { packages, lockfile? })`,
        );
    }
    const lockfile = (value as { lockfile?: unknown } | null)?.lockfile;
    if (lockfile !== undefined && (typeof lockfile !== 'string' || lockfile.trim() === ''))
      throw new TypeError(
        `runtimeEnv.npm.lockfile must be the path of a package-lock.json, got ${JSON.stringify(lockfile)}`,
      );
    if (!Array.isArray(packages) || packages.length === 0)
      throw new TypeError(
        "runtimeEnv.npm must be a non-empty array of package specs ('name@version', a local .tgz or directory) or { packages: [...] }",
      );
    for (const p of packages) {
      if (typeof p !== 'string' || p.trim() === '' || p.startsWith('-'))
        throw new TypeError(`runtimeEnv.npm: ${JSON.stringify(p)} is not a package spec`);
    }
    return lockfile === undefined
      ? { packages: packages as string[] }
      : { packages: packages as string[], lockfile: lockfile as string };
  },
  prepare(value, ctx) {
    const locals: { spec: string; local?: string }[] = [];
    const packages = value.packages.map((spec) => {
      if (isPackageUri(spec) || !isLocalSpec(spec)) {
        locals.push({ spec });
        return spec;
      }
      const path = resolve(ctx.baseDir, spec.replace(/^file:/, ''));
      let isDir: boolean;
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        throw new Error(
          `runtimeEnv.npm: ${path} does not exist (a local spec must be a tarball or a package directory)`,
        );
      }
      if (isDir && value.lockfile !== undefined)
        throw new Error(
          `runtimeEnv.npm: with a lockfile, give package tarballs, not the directory ${path} (npm pack it)`,
        );
      locals.push({ spec, local: path });
      if (isDir) {
        const packed = packDirectory(path, {
          excludes: ['node_modules/'],
          maxBytes: ctx.maxPackageBytes,
          what: 'npm',
        });
        return `${ctx.upload(packed.hash, packed.archive)}/${LOCAL_DIR_SUFFIX}`;
      }
      const packed = packFile(path);
      return `${ctx.upload(packed.hash, packed.archive)}/${basename(path)}`;
    });
    if (value.lockfile === undefined || isPackageUri(value.lockfile)) return { ...value, packages };
    return { packages, lockfile: prepareLockfile(resolve(ctx.baseDir, value.lockfile), locals, ctx) };
  },
  uris(value) {
    const sorted = [...value.packages].sort();
    const canonical = JSON.stringify(
      value.lockfile === undefined ? sorted : { packages: sorted, lockfile: value.lockfile },
    );
    return [`npm://${createHash('sha256').update(canonical).digest('hex').slice(0, 40)}`];
  },
  async create(uri, value, ctx) {
    const dir = dirOf(uri, ctx.cacheDir);
    if (existsSync(join(dir, COMPLETE))) return diskUsage(dir);
    const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    mkdirSync(tmp, { recursive: true });
    try {
      const specs: string[] = [];
      const deps: Record<string, string> = {};
      let allLocal = true;
      for (const spec of value.packages) {
        const pkg = parsePackageUri(spec);
        if (pkg === undefined) {
          allLocal = false;
          specs.push(spec);
          const split = splitSpec(spec);
          if (split !== undefined) deps[split.name] = split.range;
          continue;
        }
        const unpacked = join(tmp, LOCAL_ROOT, pkg.hash);
        unpackArchive(await ctx.fetchPackage(spec), unpacked);
        specs.push(pkg.suffix === LOCAL_DIR_SUFFIX ? unpacked : join(unpacked, pkg.suffix!));
        if (value.lockfile !== undefined)
          deps[tarballName(join(unpacked, pkg.suffix!))] = `file:${LOCAL_ROOT}/${pkg.hash}/${pkg.suffix}`;
      }
      let command: string[];
      if (value.lockfile === undefined) {
        writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'tray-runtime-env', private: true }));
        command = ['install', '--no-package-lock', '--install-links', ...specs];
      } else {
        // The lockfile, and the tarballs it refers to, where the driver's rewrite says they are.
        if (parsePackageUri(value.lockfile) === undefined)
          throw new RuntimeEnvSetupFailure(
            `runtimeEnv.npm.lockfile ${value.lockfile} was not uploaded by a driver`,
          );
        unpackArchive(await ctx.fetchPackage(value.lockfile), tmp);
        const lock = parseLockfile(readFileSync(join(tmp, LOCKFILE_NAME), 'utf8'), 'the uploaded lockfile');
        const refs = shippedRefs(lock);
        for (const hash of refs.hashes) {
          const unpacked = join(tmp, LOCAL_ROOT, hash);
          if (!existsSync(unpacked)) unpackArchive(await ctx.fetchPackage(packageUri(hash)), unpacked);
        }
        allLocal = refs.allLocal;
        const root = lock.packages['']!;
        writeFileSync(
          join(tmp, 'package.json'),
          JSON.stringify({
            name: typeof root.name === 'string' ? root.name : 'tray-runtime-env',
            private: true,
            dependencies: deps,
          }),
        );
        command = ['ci'];
      }
      const args = [...command, '--no-audit', '--no-fund', '--loglevel=error'];
      if (allLocal) args.push('--offline');
      const result = await runCommand(nodeNpm(), args, { cwd: tmp, signal: ctx.signal });
      if (result.code !== 0) {
        const lines = npmErrorLines(result.output);
        const what = value.lockfile === undefined ? 'npm install' : 'npm ci (from the lockfile) of';
        throw new RuntimeEnvSetupFailure(
          `${what} ${value.packages.join(' ')} failed (${result.signal ?? `exit code ${result.code}`}):\n` +
            (lines.length > 0 ? lines : result.output.trim().split('\n').slice(-20)).join('\n'),
        );
      }
      rmSync(join(tmp, LOCAL_ROOT), { recursive: true, force: true });
      writeFileSync(join(tmp, COMPLETE), '');
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      return diskUsage(dir);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
  modifyContext(uris, _value, context, ctx) {
    const dir = dirOf(uris[0]!, ctx.cacheDir);
    context.modulePaths.push(dir);
    context.readPaths.push(dir);
  },
  async delete(uri, ctx) {
    rmSync(dirOf(uri, ctx.cacheDir), { recursive: true, force: true });
    return 0;
  },
};

function dirOf(uri: string, cacheDir: string): string {
  return join(cacheDir, uri.slice('npm://'.length));
}

/** Names of what an npm env dir holds (for status and tests). */
export function installedPackages(dir: string): string[] {
  try {
    return readdirSync(join(dir, 'node_modules')).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}
