// `npm: { packages, lockfile }`: the driver reads the user's package-lock.json, checks it (JSON,
// lockfileVersion 2 or 3, the same package names as `packages`), uploads every local tarball it
// refers to and rewrites those references to where the node unpacks them
// (`file:.tray-local/<hash>/<name>.tgz`), and uploads the rewritten lockfile: its content hash is
// part of the env's npm URI. The node writes a package.json of `packages` next to it and runs
// `npm ci`, which refuses a lockfile that does not match them, with npm's own lines.
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { packBytes, packFile } from '../package-archive.js';
import type { PluginDriverContext } from '../plugin.js';

/** Where the node unpacks uploaded tarballs, inside the env's install directory. */
export const LOCAL_ROOT = '.tray-local';
export const LOCKFILE_NAME = 'package-lock.json';
const DEP_GROUPS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;
const SHIPPED_REF = /^file:\.tray-local\/([0-9a-f]{40})\/[A-Za-z0-9._@+-]+$/;

interface LockEntry {
  resolved?: unknown;
  link?: unknown;
  [group: string]: unknown;
}
interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
  dependencies?: unknown;
}

/** Parse and check a lockfile's text; `where` names it in errors. */
export function parseLockfile(text: string, where: string): Lockfile {
  let lock: unknown;
  try {
    lock = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${where} is not JSON (${(err as Error).message}); give the path of an npm package-lock.json`,
    );
  }
  if (lock === null || typeof lock !== 'object' || Array.isArray(lock))
    throw new Error(`${where} is not an npm package-lock.json (not a JSON object)`);
  const l = lock as Record<string, unknown>;
  if (typeof l.lockfileVersion !== 'number' || l.lockfileVersion < 2)
    throw new Error(
      `${where} has lockfileVersion ${JSON.stringify(l.lockfileVersion)}; tray installs from lockfileVersion 2 or 3 (npm 7 and later): run npm install in its project with a newer npm to upgrade it`,
    );
  const packages = l.packages as Record<string, unknown> | undefined;
  if (
    packages === null ||
    typeof packages !== 'object' ||
    typeof packages[''] !== 'object' ||
    packages[''] === null
  )
    throw new Error(
      `${where} has no "packages" section with its project's entry ""; is it a package-lock.json?`,
    );
  for (const [key, entry] of Object.entries(packages))
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      throw new Error(`${where}: its entry ${JSON.stringify(key)} is not an object`);
  return lock as Lockfile;
}

/** Names the project's entry depends on (what `packages` must list). */
function rootNames(lock: Lockfile): string[] {
  const root = lock.packages['']!;
  const names = new Set<string>();
  for (const g of DEP_GROUPS) {
    const deps = root[g];
    if (deps !== null && typeof deps === 'object') for (const n of Object.keys(deps)) names.add(n);
  }
  return [...names].sort();
}

/** `name@range` → its name and range ('*' when none); undefined for what is not a registry spec. */
export function splitSpec(spec: string): { name: string; range: string } | undefined {
  const m = /^((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*)(?:@(.+))?$/i.exec(spec);
  return m ? { name: m[1]!, range: m[2] ?? '*' } : undefined;
}

/** The `name` of an npm tarball's package/package.json (read from the tar without npm). */
export function tarballName(file: string): string {
  let tar: Buffer;
  try {
    tar = gunzipSync(readFileSync(file));
  } catch (err) {
    throw new Error(`${file} is not a gzipped npm tarball (${(err as Error).message})`);
  }
  const text = (b: Buffer) => b.toString('latin1').replace(/\0.*$/s, '');
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const prefix = text(header.subarray(345, 500));
    const path = prefix ? `${prefix}/${text(header.subarray(0, 100))}` : text(header.subarray(0, 100));
    const size = Number.parseInt(text(header.subarray(124, 136)).trim() || '0', 8);
    if (/^[^/]+\/package\.json$/.test(path)) {
      const json = JSON.parse(tar.subarray(off + 512, off + 512 + size).toString('utf8')) as {
        name?: unknown;
      };
      if (typeof json.name === 'string') return json.name;
      break;
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${file} has no package/package.json with a name: is it an npm pack tarball?`);
}

/**
 * On the driver: check the lockfile at `path` against the specs (local ones given as absolute
 * paths), upload it and the tarballs it refers to; returns the lockfile's package URI.
 */
export function prepareLockfile(
  path: string,
  specs: { spec: string; local?: string }[],
  ctx: PluginDriverContext,
): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`runtimeEnv.npm.lockfile: ${path} does not exist (give the path of a package-lock.json)`);
  }
  const where = `runtimeEnv.npm.lockfile ${path}`;
  const lock = parseLockfile(text, where);
  const wanted = specs
    .map(({ spec, local }) => {
      if (local !== undefined) return tarballName(local);
      const split = splitSpec(spec);
      if (split === undefined)
        throw new Error(
          `runtimeEnv.npm: with a lockfile, give 'name@version' specs or local .tgz files, not ${JSON.stringify(spec)}`,
        );
      return split.name;
    })
    .sort();
  const locked = rootNames(lock);
  const missing = wanted.filter((n) => !locked.includes(n));
  const extra = locked.filter((n) => !wanted.includes(n));
  if (missing.length > 0 || extra.length > 0)
    throw new Error(
      `${where} does not match the packages: ${[
        missing.length > 0 ? `it has no ${missing.join(', ')}` : '',
        extra.length > 0 ? `it locks ${extra.join(', ')}, which the packages do not list` : '',
      ]
        .filter(Boolean)
        .join('; ')} (list the dependencies of the lockfile's project, or npm install the packages there)`,
    );
  const lockDir = dirname(path);
  const shipped = new Map<string, string>();
  const ship = (ref: string, whose: string): string => {
    const file = resolve(lockDir, ref.slice('file:'.length));
    let known = shipped.get(file);
    if (known === undefined) {
      let isDir: boolean;
      try {
        isDir = statSync(file).isDirectory();
      } catch {
        throw new Error(`${where}: ${whose} is ${ref}, and ${file} does not exist`);
      }
      if (isDir)
        throw new Error(
          `${where}: ${whose} is the directory ${file}; with a lockfile, npm pack it and npm install the tarball`,
        );
      const packed = packFile(file);
      ctx.upload(packed.hash, packed.archive);
      known = `file:${LOCAL_ROOT}/${packed.hash}/${basename(file)}`;
      shipped.set(file, known);
    }
    return known;
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (entry.link === true)
      throw new Error(
        `${where}: ${key} is a linked directory; with a lockfile, npm pack it and npm install the tarball`,
      );
    if (typeof entry.resolved === 'string' && entry.resolved.startsWith('file:'))
      entry.resolved = ship(entry.resolved, key);
    for (const g of DEP_GROUPS) {
      const deps = entry[g] as Record<string, unknown> | undefined;
      if (deps === null || typeof deps !== 'object') continue;
      for (const [name, range] of Object.entries(deps))
        if (typeof range === 'string' && range.startsWith('file:'))
          deps[name] = ship(range, `${key || 'the project'}'s ${name}`);
    }
  }
  // npm 6's section of a version 2 lockfile: npm 7+ reads `packages`, and its paths are stale now.
  delete lock.dependencies;
  const packed = packBytes(LOCKFILE_NAME, Buffer.from(JSON.stringify(lock, null, 2)));
  return `${ctx.upload(packed.hash, packed.archive)}/${LOCKFILE_NAME}`;
}

/**
 * On the node: the hashes of the uploaded tarballs a (driver-rewritten) lockfile refers to, and
 * whether every entry is local (then npm runs offline). Throws for a local path tray did not ship.
 */
export function shippedRefs(lock: Lockfile): { hashes: string[]; allLocal: boolean } {
  const hashes = new Set<string>();
  let allLocal = true;
  const check = (ref: string) => {
    const m = SHIPPED_REF.exec(ref);
    if (m === null) throw new Error(`the lockfile refers to ${ref}, which the driver did not ship`);
    hashes.add(m[1]!);
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === '') continue;
    if (typeof entry.resolved === 'string' && entry.resolved.startsWith('file:')) check(entry.resolved);
    else if (entry.link !== true) allLocal = false;
  }
  return { hashes: [...hashes], allLocal };
}

/** npm's error lines, without the usage text npm appends to some of them. */
export function npmErrorLines(output: string): string[] {
  const lines: string[] = [];
  for (const line of output.split('\n')) {
    if (!/npm (error|ERR!)/.test(line)) continue;
    if (/npm (error|ERR!) (Usage:|Clean install a project)/.test(line)) break;
    if (/^npm (error|ERR!)\s*$/.test(line)) continue;
    lines.push(line);
    if (lines.length === 20) break;
  }
  return lines;
}
