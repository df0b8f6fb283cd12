// A V8 code cache for the CommonJS modules a tray process loads (Node 20 has no
// module.enableCompileCache). Two ways in:
// - `node --require @tray/protocol/code-cache` (code-cache-preload.ts: loading that file
//   installs it for the whole process) in the processes a local cluster forks (the GCS, the
//   raylet, the workers: core's driver/head-node.ts), which then run their CommonJS builds
//   (`main.cjs`);
// - `withCodeCache(() => require(...))` around one synchronous load in any process (a user's
//   driver: grpc-js, acorn), the loader hooked only while it runs.
// A module compiled through `Module.prototype._compile` that has no `import()` in it (see
// compileWithCache: the GCS's and the worker's own bundles have one) is compiled from the cached
// data of an earlier process when there is some, and otherwise has its data written ~1 s later
// (and at exit) for the next one, with the functions compiled by then included. Parsing and
// compiling is about a sixth of the start-up CPU of a GCS or a raylet (issue 17).
//
// The cache lives in `$TRAY_CODE_CACHE_DIR`, else `<tmpdir>/tray-code-cache-<uid>`: a directory
// this user created and owns, not readable or writable by others (it is not used otherwise,
// since its data becomes code). Entries are keyed by the file's path and content, the Node
// version and the process's V8 flags, so a changed file never meets stale data. Off with
// TRAY_CODE_CACHE=0. Nothing here may throw into the process it runs in: any error leaves that
// module compiled the ordinary way.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

/** How long after the preload the data of newly compiled modules is written. */
const SAVE_AFTER_MS = 1000;

/** `import(` anywhere in a module's text (code, or a string or comment: then it is skipped too). */
const DYNAMIC_IMPORT = /\bimport\s*\(/;

/** The cache directory, made if missing; undefined when it is not safe or cannot be made. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TRAY_CODE_CACHE === '0') return undefined;
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const dir = env.TRAY_CODE_CACHE_DIR || path.join(os.tmpdir(), `tray-code-cache-${uid ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) return undefined;
    if (uid !== undefined && (st.uid !== uid || (st.mode & 0o077) !== 0)) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

interface Pending {
  file: string;
  script: vm.Script;
}

type Compile = (this: any, content: string, filename: string) => unknown;

interface Hook {
  compile: Compile;
  original: Compile;
}

let installed: Hook | undefined;
/** Marks a compile function as this cache's (another bundled copy of this file may have made it). */
const MARK = Symbol.for('tray.codeCache.compile');

function makeHook(dir: string, original: Compile): Hook {
  const internals = Module as unknown as {
    wrap(content: string): string;
    _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
    _resolveLookupPaths(request: string, parent: unknown): string[] | null;
    _extensions: unknown;
    _cache: unknown;
  };
  const salt = `${process.version}\0${process.arch}\0${process.execArgv.join(' ')}\0`;
  const pending: Pending[] = [];
  let saveScheduled = false;
  const save = () => {
    for (const { file, script } of pending.splice(0)) {
      try {
        const data = script.createCachedData();
        const temp = `${file}.${process.pid}.tmp`;
        writeFileSync(temp, data, { mode: 0o600 });
        renameSync(temp, file);
      } catch {}
    }
  };
  const scheduleSave = () => {
    if (saveScheduled) return;
    saveScheduled = true;
    setTimeout(save, SAVE_AFTER_MS).unref();
    // Modules compiled after that (loaded on first use) are written at exit.
    process.once('exit', save);
  };
  const compile: Compile = function compileWithCache(this: any, content: string, filename: string) {
    // In Node 20 a script compiled from cached data loses its dynamic-import callback (import()
    // throws ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), and vm's callbacks are experimental:
    // modules that may call import() are compiled the ordinary way.
    if (DYNAMIC_IMPORT.test(content)) return original.call(this, content, filename);
    let fn: (...args: unknown[]) => unknown;
    try {
      const file = path.join(
        dir,
        createHash('sha1').update(salt).update(filename).update('\0').update(content).digest('hex'),
      );
      let cachedData: Buffer | undefined;
      try {
        cachedData = readFileSync(file);
      } catch {}
      const script = new vm.Script(internals.wrap(content), { filename, cachedData });
      if (cachedData === undefined || script.cachedDataRejected) {
        pending.push({ file, script });
        scheduleSave();
      }
      fn = script.runInThisContext({ displayErrors: true }) as typeof fn;
    } catch {
      return original.call(this, content, filename);
    }
    const require = (id: string) => this.require(id);
    const resolve = (request: string, options?: unknown) =>
      internals._resolveFilename(request, this, false, options);
    resolve.paths = (request: string) => internals._resolveLookupPaths(request, this);
    require.resolve = resolve;
    require.main = process.mainModule;
    require.extensions = internals._extensions;
    require.cache = internals._cache;
    return fn.call(this.exports, this.exports, require, this, filename, path.dirname(filename));
  };
  (compile as unknown as Record<symbol, boolean>)[MARK] = true;
  return { compile, original };
}

function hooked(proto: { _compile: Compile }): boolean {
  return (proto._compile as unknown as Record<symbol, boolean | undefined>)[MARK] === true;
}

function loaderPrototype(): { _compile: Compile } {
  return (Module as unknown as { prototype: { _compile: Compile } }).prototype;
}

/** Installs the cache into this process's CommonJS loader for good; returns whether it did. */
export function installCodeCache(env: NodeJS.ProcessEnv = process.env): boolean {
  const proto = loaderPrototype();
  if (installed !== undefined || hooked(proto)) return true;
  const dir = codeCacheDir(env);
  if (dir === undefined) return false;
  installed = makeHook(dir, proto._compile);
  proto._compile = installed.compile;
  return true;
}

let scopedOff = false;

/**
 * Turns withCodeCache off in this process. Workers do: code compiled from cached data is
 * deserialized with all its functions' bytecode at once, ~1 MB more heap for grpc-js in every
 * idle actor worker, where memory counts more than ~10 ms of CPU at its first GCS call.
 */
export function disableScopedCodeCache(): void {
  scopedOff = true;
}

/**
 * Runs `load` (a synchronous require) with the cache hooked into the CommonJS loader, and
 * unhooks it after: only the modules `load` compiles use it.
 */
export function withCodeCache<T>(load: () => T, env: NodeJS.ProcessEnv = process.env): T {
  const proto = loaderPrototype();
  if (scopedOff || hooked(proto)) return load();
  const before = proto._compile;
  let hook: Hook | undefined;
  try {
    const dir = codeCacheDir(env);
    if (dir !== undefined) hook = makeHook(dir, before);
  } catch {}
  if (hook === undefined) return load();
  proto._compile = hook.compile;
  try {
    return load();
  } finally {
    if (proto._compile === hook.compile) proto._compile = before;
  }
}
