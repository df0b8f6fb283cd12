// Module resolution for remote code, anchored at the job's working directory instead of the
// worker's own location: `require('lodash')` and `import('lodash')` inside a remote function find
// the packages of the driver's project. Bare names go through Node's CommonJS resolver first; a
// package that only exports an `import` condition (ESM-only) is resolved from its package.json
// `exports` with the conditions node/import/default.
import { readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const requires = new Map<string, NodeJS.Require>();

/**
 * The runtime env's module paths (its npm set, its modules), set by the raylet in
 * TRAY_RUNTIME_ENV_MODULE_PATHS: searched before the working directory.
 */
function envModulePaths(): string[] {
  const raw = process.env.TRAY_RUNTIME_ENV_MODULE_PATHS;
  if (!raw) return [];
  try {
    const paths = JSON.parse(raw);
    return Array.isArray(paths) ? paths.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}

/** A `require` that resolves from `workingDir` (one per directory per process). */
export function requireFrom(workingDir: string): NodeJS.Require {
  const dir = resolve(workingDir);
  let req = requires.get(dir);
  if (!req) {
    const base = createRequire(join(dir, '[tray remote code].js'));
    const paths = envModulePaths();
    req = paths.length === 0 ? base : layered(base, paths);
    requires.set(dir, req);
  }
  return req;
}

/** `base` with bare names looked up in `paths`' node_modules first (first match wins). */
function layered(base: NodeJS.Require, paths: string[]): NodeJS.Require {
  const resolveFirst = (id: string): string => {
    const bare = !(
      id.startsWith('.') ||
      isAbsolute(id) ||
      id.startsWith('node:') ||
      builtinModules.includes(id)
    );
    if (bare) {
      for (const p of paths) {
        try {
          return base.resolve(id, { paths: [p] });
        } catch {}
      }
    }
    return base.resolve(id);
  };
  const req = ((id: string) => base(resolveFirst(id))) as NodeJS.Require;
  const resolveFn = ((id: string, options?: { paths?: string[] }) =>
    options?.paths ? base.resolve(id, options) : resolveFirst(id)) as NodeJS.RequireResolve;
  resolveFn.paths = (id: string) => {
    const rest = base.resolve.paths(id);
    return rest === null ? null : [...paths.map((p) => join(p, 'node_modules')), ...rest];
  };
  req.resolve = resolveFn;
  req.cache = base.cache;
  req.extensions = base.extensions;
  req.main = base.main;
  return req;
}

/** Turns an `import()` specifier written in remote code into something `import()` can load. */
export function resolveImportSpecifier(specifier: string, workingDir: string): string {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) return specifier;
  if (isAbsolute(specifier)) return pathToFileURL(specifier).href;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(specifier)) return specifier; // file:, data:, ...
  if (specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../')) {
    return pathToFileURL(resolve(workingDir, specifier)).href;
  }
  const req = requireFrom(workingDir);
  try {
    return pathToFileURL(req.resolve(specifier)).href;
  } catch (error) {
    const esmOnly = resolveEsmOnlyPackage(specifier, req);
    if (esmOnly) return pathToFileURL(esmOnly).href;
    throw new Error(
      `Cannot find module '${specifier}' from the job's working directory ${workingDir}: ` +
        `${(error as Error).message.split('\n')[0]}. Install it there (npm install ${packageName(specifier)}).`,
      { cause: error },
    );
  }
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

type ExportsValue = string | null | ExportsValue[] | { [key: string]: ExportsValue };

const CONDITIONS = ['node', 'import', 'default'];

function resolveEsmOnlyPackage(specifier: string, req: NodeJS.Require): string | undefined {
  const name = packageName(specifier);
  const subpath = `.${specifier.slice(name.length)}`;
  for (const dir of req.resolve.paths(specifier) ?? []) {
    const packageDir = join(dir, name);
    let manifest: { exports?: ExportsValue; main?: string };
    try {
      manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    const target = matchExports(manifest.exports, subpath);
    return target ? join(packageDir, target) : undefined;
  }
  return undefined;
}

function matchExports(exports: ExportsValue | undefined, subpath: string): string | undefined {
  if (exports === undefined || exports === null) return undefined;
  const isSubpathMap =
    typeof exports === 'object' &&
    !Array.isArray(exports) &&
    Object.keys(exports).some((k) => k.startsWith('.'));
  if (!isSubpathMap) return subpath === '.' ? pickCondition(exports) : undefined;
  const map = exports as Record<string, ExportsValue>;
  if (subpath in map) return pickCondition(map[subpath]);
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf('*');
    if (star < 0) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= key.length - 1) {
      const matched = subpath.slice(prefix.length, subpath.length - suffix.length);
      return pickCondition(value)?.replaceAll('*', matched);
    }
  }
  return undefined;
}

function pickCondition(value: ExportsValue): string | undefined {
  if (typeof value === 'string') return value;
  if (value === null) return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const picked = pickCondition(item);
      if (picked) return picked;
    }
    return undefined;
  }
  for (const [condition, target] of Object.entries(value)) {
    if (!CONDITIONS.includes(condition)) continue;
    const picked = pickCondition(target);
    if (picked) return picked;
  }
  return undefined;
}
