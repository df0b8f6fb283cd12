// How DeploymentHandles travel: as a HandleMarker naming the application and deployment (a handle
// is a Proxy, which structured clone cannot carry). Bound constructor arguments and call
// arguments are encoded here at the top level and one level into plain arrays and objects;
// decode-args.ts turns markers back into handles where they arrive.
import { HANDLE_MARKER, type HandleMarker } from '../controller/types.js';

/** Marks handles (a Proxy) and names their deployment. */
export const HANDLE_IDENTITY = Symbol.for('tray.serve.DeploymentHandle');

export function handleMarker(app: string, deployment: string): HandleMarker {
  return { [HANDLE_MARKER]: { app, deployment } };
}

export function isPlain(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function encodeOne(value: unknown, deep: boolean): unknown {
  if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
    const identity = (value as Record<symbol, unknown>)[HANDLE_IDENTITY] as
      | { app: string; deployment: string }
      | undefined;
    if (identity !== undefined) return handleMarker(identity.app, identity.deployment);
    if (deep && Array.isArray(value)) return value.map((v) => encodeOne(v, false));
    if (deep && isPlain(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeOne(v, false)]));
    }
  }
  return value;
}

/** Handles in `args` as markers (the sender's side). */
export function encodeArgs(args: unknown[]): unknown[] {
  return args.map((a) => encodeOne(a, true));
}
