// What travels from the driver to a worker to say "run this function": either its source (by
// value) or where to import it from (by reference). Core serializes it with the task spec; the
// capture values inside are serialized by core's own serializer, never here. The hash identifies
// the code (not the capture values), so workers compile each function once.
import { createHash } from 'node:crypto';

export type RemoteKind = 'function' | 'class';

interface ShippedCommon {
  kind: RemoteKind;
  /** The function's or class's name, for messages and stacks. */
  name: string;
  /** Declared parameter count (`fn.length`; for a class, its constructor's). */
  arity: number;
  /** sha256 (hex) of what identifies the code; equal hashes mean interchangeable code. */
  hash: string;
  /** Values bound to free names of the source, as given to tray.remote (empty by reference). */
  captures: Record<string, unknown>;
}

/** A function or class shipped as source text. */
export interface ShippedByValue extends ShippedCommon {
  by: 'value';
  /**
   * An expression that evaluates to the function or class once `tray`, `require`, `__name`,
   * `__trayImport` and the capture names are bound (dynamic `import(x)` already reads
   * `__trayImport(x)`).
   */
  source: string;
  /** Evaluate in strict mode (the function came from strict code, e.g. an ES module). */
  strict: boolean;
}

/** A function or class exported by a module, shipped as the module's location and export name. */
export interface ShippedByReference extends ShippedCommon {
  by: 'reference';
  /** A file: URL, or a package specifier resolved from the job's working directory. */
  moduleUrl: string;
  exportName: string;
}

export type ShippedCode = ShippedByValue | ShippedByReference;

export function hashByValue(
  kind: RemoteKind,
  source: string,
  strict: boolean,
  captureNames: string[],
): string {
  const names = [...captureNames].sort().join(',');
  return sha256(`value\0${kind}\0${strict ? 'strict' : 'sloppy'}\0${names}\0${source}`);
}

export function hashByReference(kind: RemoteKind, moduleUrl: string, exportName: string): string {
  return sha256(`reference\0${kind}\0${moduleUrl}\0${exportName}`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

// Words that cannot name a parameter of the wrapper that binds captures.
const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false ' +
    'finally for function if import in instanceof new null return super switch this throw true try ' +
    'typeof var void while with implements interface let package private protected public static ' +
    'yield await arguments eval'
  ).split(' '),
);

/** True when `name` can be bound as a parameter (capture names become parameters remotely). */
export function isBindableName(name: string): boolean {
  return IDENTIFIER.test(name) && !RESERVED.has(name);
}
