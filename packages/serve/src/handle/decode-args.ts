// The replica's side of identity.ts: HandleMarkers in bound and call arguments become
// DeploymentHandles again.
import { HANDLE_MARKER, isHandleMarker } from '../controller/types.js';
import { makeHandle } from './handle.js';
import { isPlain } from './identity.js';

function decodeOne(value: unknown, deep: boolean): unknown {
  if (isHandleMarker(value)) {
    const { app, deployment } = value[HANDLE_MARKER];
    return makeHandle(deployment, app, {});
  }
  if (deep && Array.isArray(value)) return value.map((v) => decodeOne(v, false));
  if (deep && isPlain(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeOne(v, false)]));
  return value;
}

/** Markers in `args` as handles (the replica's side). */
export function decodeArgs(args: unknown[]): unknown[] {
  let any = false;
  for (const a of args) if (a !== null && typeof a === 'object') any = true;
  return any ? args.map((a) => decodeOne(a, true)) : args;
}
