// The worker side of code shipping: turn ShippedCode back into a callable function or class.
// Source is compiled once per process per (hash, working directory) into a factory whose
// parameters bind `tray`, `require`, `__name`, `__trayImport` and the capture names; the factory
// is called once per captures object. Code shipped by reference is imported once per module.
import { IMPORT_BINDING } from './globals.js';
import { requireFrom, resolveImportSpecifier } from './resolve.js';
import {
  hashByReference,
  hashByValue,
  isBindableName,
  type ShippedByReference,
  type ShippedByValue,
  type ShippedCode,
} from './shipped-code.js';

export interface LoadEnvironment {
  /** The worker's tray API, bound as `tray` inside remote code. */
  tray: unknown;
  /** The job's working directory; `require` and `import()` resolve from here. */
  workingDir: string;
  /** Capture values (deserialized by core), keyed by the names the source uses. */
  captures: Record<string, unknown>;
}

type Factory = (...bindings: unknown[]) => unknown;

interface Compiled {
  factory: Factory;
  captureNames: string[];
  /** Instances per captures object; instances without captures are kept per tray. */
  byCaptures: WeakMap<object, { tray: unknown; fn: Function }>;
  withoutCaptures?: { tray: unknown; fn: Function };
}

const compiled = new Map<string, Compiled>();
const imported = new Map<string, Promise<Function>>();

/** Sets a function's or class's name and returns it, as esbuild's (and so tsx's) helper does. */
function __name<T extends Function>(target: T, value: string): T {
  return Object.defineProperty(target, 'name', { value, configurable: true });
}

export async function loadRemote(code: ShippedCode, env: LoadEnvironment): Promise<Function> {
  validateCode(code);
  if (typeof env?.workingDir !== 'string' || env.workingDir === '') {
    throw new TypeError('loadRemote: env.workingDir must be the job working directory (a non-empty string).');
  }
  return code.by === 'value' ? instantiate(code, env) : importByReference(code, env.workingDir);
}

function instantiate(code: ShippedByValue, env: LoadEnvironment): Function {
  const key = `${code.hash}\0${env.workingDir}`;
  const captures = env.captures ?? {};
  if (typeof captures !== 'object') throw new TypeError('loadRemote: env.captures must be an object.');
  let entry = compiled.get(key);
  if (!entry) {
    entry = compile(code, Object.keys(captures).sort());
    compiled.set(key, entry);
  }
  const names = Object.keys(captures);
  if (
    names.length !== entry.captureNames.length ||
    !entry.captureNames.every((n) => Object.hasOwn(captures, n))
  ) {
    throw new TypeError(
      `Remote function \`${code.name}\` was shipped with captures ${entry.captureNames.join(', ') || '(none)'} ` +
        `but received ${names.join(', ') || '(none)'}.`,
    );
  }
  const cached = entry.captureNames.length === 0 ? entry.withoutCaptures : entry.byCaptures.get(captures);
  if (cached && cached.tray === env.tray) return cached.fn;

  // Like import() itself, a specifier that does not resolve rejects rather than throws.
  const importFn = async (specifier: unknown, options?: ImportCallOptions) =>
    import(resolveImportSpecifier(String(specifier), env.workingDir), options);
  const bindings = [env.tray, requireFrom(env.workingDir), __name, importFn];
  for (const name of entry.captureNames) bindings.push(captures[name]);
  const fn = entry.factory(...bindings);
  if (typeof fn !== 'function') {
    throw new TypeError(
      `Remote function \`${code.name}\`: its source evaluated to ${typeof fn}, not a function.`,
    );
  }
  const instance = { tray: env.tray, fn };
  if (entry.captureNames.length === 0) entry.withoutCaptures = instance;
  else entry.byCaptures.set(captures, instance);
  return fn;
}

/** Compiles the factory; `captureNames` (sorted) come from the captures that arrived. */
function compile(code: ShippedByValue, captureNames: string[]): Compiled {
  for (const name of captureNames) {
    if (!isBindableName(name))
      throw new TypeError(`Remote function \`${code.name}\`: bad capture name ${name}.`);
  }
  if (hashByValue(code.kind, code.source, code.strict, captureNames) !== code.hash) {
    throw new TypeError(
      `Remote function \`${code.name}\`: its hash does not match its source and capture names ` +
        `(${captureNames.join(', ') || 'none'}); refusing to run it.`,
    );
  }
  const directive = code.strict ? "'use strict';\n" : '';
  const params = ['tray', 'require', '__name', IMPORT_BINDING, ...captureNames];
  let factory: Factory;
  try {
    factory = new Function(...params, `${directive}return ${code.source};`) as Factory;
  } catch (error) {
    throw new SyntaxError(`Remote function \`${code.name}\` does not compile: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { factory, captureNames, byCaptures: new WeakMap() };
}

function importByReference(code: ShippedByReference, workingDir: string): Promise<Function> {
  const key = `${code.hash}\0${workingDir}`;
  let pending = imported.get(key);
  if (!pending) {
    pending = importExport(code, workingDir);
    imported.set(key, pending);
    // A failed import is not cached: the module may be fixed or installed before the next task.
    pending.catch(() => imported.delete(key));
  }
  return pending;
}

async function importExport(code: ShippedByReference, workingDir: string): Promise<Function> {
  const url = resolveImportSpecifier(code.moduleUrl, workingDir);
  let namespace: Record<string, unknown>;
  try {
    namespace = await import(url);
  } catch (error) {
    throw new Error(
      `Remote function \`${code.name}\`: could not import ${code.moduleUrl}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  let value = namespace[code.exportName];
  const cjsExports = namespace.default as Record<string, unknown> | undefined;
  if (value === undefined && cjsExports && typeof cjsExports === 'object' && code.exportName !== 'default') {
    value = cjsExports[code.exportName];
  }
  if (value === undefined) {
    const available = Object.keys(namespace).sort().join(', ') || 'none';
    throw new Error(
      `Remote function \`${code.name}\`: ${code.moduleUrl} has no export named \`${code.exportName}\` ` +
        `(its exports: ${available}). Check exportName, or that the worker sees the same version of the module.`,
    );
  }
  if (typeof value !== 'function') {
    throw new TypeError(
      `Remote function \`${code.name}\`: export \`${code.exportName}\` of ${code.moduleUrl} is ${typeof value}, ` +
        'not a function or class.',
    );
  }
  return value;
}

/** ShippedCode arrives from the network: check its shape before trusting any field. */
function validateCode(code: ShippedCode): void {
  const fail = (what: string): never => {
    throw new TypeError(`loadRemote: malformed shipped code: ${what}.`);
  };
  if (!code || typeof code !== 'object') fail('expected an object');
  if (code.kind !== 'function' && code.kind !== 'class') fail('kind must be "function" or "class"');
  if (typeof code.name !== 'string') fail('name must be a string');
  if (typeof code.hash !== 'string' || !/^[0-9a-f]{64}$/.test(code.hash))
    fail('hash must be a sha256 hex string');
  if (code.by === 'value') {
    if (typeof code.source !== 'string' || code.source === '') fail('source must be a non-empty string');
    if (typeof code.strict !== 'boolean') fail('strict must be a boolean');
  } else if (code.by === 'reference') {
    if (typeof code.moduleUrl !== 'string' || code.moduleUrl === '')
      fail('moduleUrl must be a non-empty string');
    if (typeof code.exportName !== 'string' || code.exportName === '')
      fail('exportName must be a non-empty string');
    if (hashByReference(code.kind, code.moduleUrl, code.exportName) !== code.hash)
      fail('hash does not match');
  } else {
    fail('by must be "value" or "reference"');
  }
}
