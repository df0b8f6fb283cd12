// The driver side of code shipping: at tray.remote() time, turn a function or class into
// ShippedCode, and refuse — with an error naming each offending identifier, where it appears and
// how to fix it — code that would fail remotely because it uses names that exist only in the
// driver. Capture values are returned untouched; core serializes them.
import { pathToFileURL } from 'node:url';
import { allowedFreeNames, DRIVER_ONLY_NAMES, IMPORT_BINDING, REMOTE_BINDINGS } from './globals.js';
import { analyseScopes, type FreeReference } from './scope.js';
import {
  hashByReference,
  hashByValue,
  isBindableName,
  type RemoteKind,
  type ShippedByReference,
  type ShippedByValue,
} from './shipped-code.js';
import { lineAndColumn, type NormalisedSource, normaliseSource, UnshippableSourceError } from './source.js';

export interface DescribeOptions {
  /** Values for names the source uses but does not declare; they travel with the function. */
  captures?: Record<string, unknown>;
  /** Ship by reference: the module exporting the target (file URL, path, or package name)… */
  module?: string;
  /** …and the name it is exported under. */
  exportName?: string;
  /** Overrides the name used in messages (defaults to the function's own name). */
  name?: string;
}

export function describeRemote(
  target: Function,
  options: DescribeOptions = {},
): ShippedByValue | ShippedByReference {
  if (typeof target !== 'function') {
    throw new TypeError(`tray.remote expects a function or a class, got ${describeValue(target)}.`);
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `tray.remote(fn, options): options must be an object, got ${describeValue(options)}.`,
    );
  }
  const name = displayName(target, options.name);
  if (options.module !== undefined || options.exportName !== undefined) {
    return describeByReference(target, name, options);
  }
  const captures = validateCaptures(name, options.captures);
  refuseSourceless(target, name);

  let normalised: NormalisedSource;
  try {
    normalised = normaliseSource(target);
  } catch (error) {
    if (!(error instanceof UnshippableSourceError)) throw error;
    throw new TypeError(`tray.remote(${name}): cannot ship this function: ${error.message}.`);
  }
  const analysis = analyseScopes(normalised.program);
  const allowed = allowedFreeNames();
  const offending = analysis.free.filter(
    (ref) => !Object.hasOwn(captures, ref.name) && (!allowed.has(ref.name) || ref.name in DRIVER_ONLY_NAMES),
  );
  if (offending.length > 0) throw new TypeError(freeNamesMessage(name, normalised, offending));

  const source = rewriteImports(normalised.expression, analysis.imports);
  const strict = isStrict(target, normalised);
  const kind: RemoteKind = normalised.kind;
  return {
    by: 'value',
    kind,
    name,
    arity: target.length,
    source,
    strict,
    hash: hashByValue(kind, source, strict, Object.keys(captures)),
    captures,
  };
}

function describeByReference(target: Function, name: string, options: DescribeOptions): ShippedByReference {
  const { module, exportName } = options;
  if (typeof module !== 'string' || module.trim() === '') {
    throw new TypeError(
      `tray.remote(${name}): to ship by reference, \`module\` must be a non-empty string (a file URL such as ` +
        `import.meta.url, a path, or a package name); got ${describeValue(module)}.`,
    );
  }
  if (typeof exportName !== 'string' || exportName.trim() === '') {
    throw new TypeError(
      `tray.remote(${name}): to ship by reference, \`exportName\` must be the non-empty name the module ` +
        `exports the function under; got ${describeValue(exportName)}.`,
    );
  }
  if (options.captures !== undefined && Object.keys(options.captures ?? {}).length > 0) {
    throw new TypeError(
      `tray.remote(${name}): captures are not used when shipping by reference (the worker imports ` +
        `${module} itself). Remove captures, or drop module/exportName to ship by value.`,
    );
  }
  const moduleUrl = toModuleUrl(module);
  const kind: RemoteKind = /^class\b/.test(Function.prototype.toString.call(target)) ? 'class' : 'function';
  return {
    by: 'reference',
    kind,
    name,
    arity: target.length,
    moduleUrl,
    exportName,
    hash: hashByReference(kind, moduleUrl, exportName),
    captures: {},
  };
}

/** Absolute paths and ./relative paths become file: URLs; URLs and package names stay as given. */
function toModuleUrl(module: string): string {
  if (
    module.startsWith('./') ||
    module.startsWith('../') ||
    module.startsWith('/') ||
    /^[A-Za-z]:[\\/]/.test(module)
  ) {
    return pathToFileURL(module).href;
  }
  return module;
}

function validateCaptures(name: string, captures: unknown): Record<string, unknown> {
  if (captures === undefined) return {};
  if (captures === null || typeof captures !== 'object' || Array.isArray(captures)) {
    throw new TypeError(
      `tray.remote(${name}, { captures }): captures must be an object mapping names to values, e.g. ` +
        `{ captures: { db } }; got ${describeValue(captures)}.`,
    );
  }
  for (const key of Object.keys(captures)) {
    if ((REMOTE_BINDINGS as readonly string[]).includes(key) || key === IMPORT_BINDING) {
      throw new TypeError(
        `tray.remote(${name}, { captures }): \`${key}\` is provided by tray inside remote code and cannot be captured. ` +
          'Rename the variable.',
      );
    }
    if (!isBindableName(key)) {
      throw new TypeError(
        `tray.remote(${name}, { captures }): capture name ${JSON.stringify(key)} is not a valid JavaScript ` +
          'variable name; use the name the function refers to.',
      );
    }
  }
  return captures as Record<string, unknown>;
}

function refuseSourceless(target: Function, name: string): void {
  const text = Function.prototype.toString.call(target);
  if (!/\{\s*\[native code\]\s*\}\s*$/.test(text)) return;
  if (target.name.startsWith('bound ')) {
    throw new TypeError(
      `tray.remote(${name}): a bound function (made by .bind()) has no source to ship. Pass the original ` +
        'function, and give the bound values as arguments or in captures.',
    );
  }
  throw new TypeError(
    `tray.remote(${name}): a built-in or native function has no JavaScript source to ship. Wrap it in a ` +
      `function of your own, e.g. tray.remote((...args) => ${target.name || 'fn'}(...args)).`,
  );
}

function freeNamesMessage(name: string, source: NormalisedSource, refs: FreeReference[]): string {
  const byName = new Map<string, string[]>();
  for (const ref of refs) {
    const { line, column } = lineAndColumn(source.original, source.toOriginal(ref.start));
    const positions = byName.get(ref.name) ?? [];
    positions.push(`${line}:${column}`);
    byName.set(ref.name, positions);
  }
  const names = [...byName.keys()];
  const listed = names.map((n) => `\`${n}\` (at ${byName.get(n)!.join(', ')})`);
  const one = names.length === 1;
  const capturable = names.filter((n) => !(n in DRIVER_ONLY_NAMES));
  let message =
    `tray.remote(${name}): ${joinWords(listed)} ${one ? 'is' : 'are'} defined outside the function, and remote ` +
    `code runs in another process where ${one ? 'it does' : 'they do'} not exist.`;
  if (capturable.length > 0) {
    const them = capturable.length === 1 ? 'it' : 'them';
    message +=
      ` Pass ${them} in captures — tray.remote(${name}, { captures: { ${capturable.join(', ')} } }) — or create ` +
      `${them} inside the function (require()/import() work there).`;
  }
  for (const n of names) if (n in DRIVER_ONLY_NAMES) message += ` \`${n}\`: ${DRIVER_ONLY_NAMES[n]}.`;
  const helpers = capturable.filter((n) => /^__[a-zA-Z]/.test(n));
  if (helpers.length > 0) {
    message +=
      ` (${joinWords(helpers.map((h) => `\`${h}\``))} look${helpers.length === 1 ? 's' : ''} like a helper ` +
      'injected by your compiler; compile for a newer target, or ship the function by reference with ' +
      '{ module: import.meta.url, exportName }.)';
  }
  return message;
}

function rewriteImports(expression: string, importOffsets: number[]): string {
  let result = expression;
  // Right to left, so earlier offsets stay valid.
  for (const offset of [...importOffsets].sort((a, b) => b - a)) {
    result = result.slice(0, offset) + IMPORT_BINDING + result.slice(offset + 'import'.length);
  }
  return result;
}

/**
 * Plain functions reveal their mode (sloppy ones carry own `caller`/`arguments` properties).
 * Arrows, methods, generators and async functions do not; they run strict when their text
 * allows it, as code from ES modules and TypeScript always does.
 */
function isStrict(target: Function, source: NormalisedSource): boolean {
  if (source.kind === 'class') return true;
  if (Object.hasOwn(target, 'caller')) return false;
  return source.parsesStrict;
}

function displayName(target: Function, override: string | undefined): string {
  if (typeof override === 'string' && override !== '') return override;
  return typeof target === 'function' && target.name ? target.name : 'fn';
}

function joinWords(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value;
}
