// `npm`: packages installed with the node's own npm, once per distinct set, into a
// content-addressed directory of the node's cache; the worker's remote code resolves from that
// set before the job's own. Specs are registry names (`lodash@4.17.21`) or local tarballs and
// directories, which the driver uploads (so a second node gets them too) and which install
// with `--offline` when every spec is local: no network needed.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { packDirectory, packFile, unpackArchive } from '../package-archive.js';
import { isPackageUri, parsePackageUri } from '../package-uri.js';
import { type RuntimeEnvPlugin, RuntimeEnvSetupFailure } from '../plugin.js';
import { diskUsage, runCommand } from '../run-command.js';

export interface NpmValue {
  packages: string[];
}

const COMPLETE = '.tray-complete';
const LOCAL_DIR_SUFFIX = 'dir';

function isLocalSpec(spec: string): boolean {
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
      const extra = Object.keys(value).filter((k) => k !== 'packages');
      if (extra.length > 0)
        throw new TypeError(
          `runtimeEnv.npm: unknown field ${extra[0]} (give an array of specs or { packages })`,
        );
    }
    if (!Array.isArray(packages) || packages.length === 0)
      throw new TypeError(
        "runtimeEnv.npm must be a non-empty array of package specs ('name@version', a local .tgz or directory) or { packages: [...] }",
      );
    for (const p of packages) {
      if (typeof p !== 'string' || p.trim() === '' || p.startsWith('-'))
        throw new TypeError(`runtimeEnv.npm: ${JSON.stringify(p)} is not a package spec`);
    }
    return { packages: packages as string[] };
  },
  prepare(value, ctx) {
    return {
      packages: value.packages.map((spec) => {
        if (isPackageUri(spec) || !isLocalSpec(spec)) return spec;
        const path = resolve(ctx.baseDir, spec.replace(/^file:/, ''));
        let isDir: boolean;
        try {
          isDir = statSync(path).isDirectory();
        } catch {
          throw new Error(
            `runtimeEnv.npm: ${path} does not exist (a local spec must be a tarball or a package directory)`,
          );
        }
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
      }),
    };
  },
  uris(value) {
    const canonical = JSON.stringify([...value.packages].sort());
    return [`npm://${createHash('sha256').update(canonical).digest('hex').slice(0, 40)}`];
  },
  async create(uri, value, ctx) {
    const dir = dirOf(uri, ctx.cacheDir);
    if (existsSync(join(dir, COMPLETE))) return diskUsage(dir);
    const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    mkdirSync(tmp, { recursive: true });
    try {
      const specs: string[] = [];
      let allLocal = true;
      for (const spec of value.packages) {
        const pkg = parsePackageUri(spec);
        if (pkg === undefined) {
          allLocal = false;
          specs.push(spec);
          continue;
        }
        const unpacked = join(tmp, '.tray-local', pkg.hash);
        unpackArchive(await ctx.fetchPackage(spec), unpacked);
        specs.push(pkg.suffix === LOCAL_DIR_SUFFIX ? unpacked : join(unpacked, pkg.suffix!));
      }
      writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'tray-runtime-env', private: true }));
      const args = [
        'install',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--install-links',
        '--loglevel=error',
      ];
      if (allLocal) args.push('--offline');
      const result = await runCommand(nodeNpm(), [...args, ...specs], { cwd: tmp, signal: ctx.signal });
      if (result.code !== 0) {
        const lines = result.output
          .split('\n')
          .filter((l) => /npm (error|ERR!)/.test(l))
          .slice(0, 20);
        throw new RuntimeEnvSetupFailure(
          `npm install ${value.packages.join(' ')} failed (${result.signal ?? `exit code ${result.code}`}):\n` +
            (lines.length > 0 ? lines : result.output.trim().split('\n').slice(-20)).join('\n'),
        );
      }
      rmSync(join(tmp, '.tray-local'), { recursive: true, force: true });
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
