// A task's function descriptor as the task executor (task-executor.ts) reads it: the key of the
// loaded function it names (its code, working dir and captured values: each loaded once) and
// the shipped code to load it from.
import { createHash } from 'node:crypto';
import type { tray } from '@tray/protocol';
import { hex } from '../runtime/ids.js';
import type { ShippedCode } from '../shipping/index.js';

const EMPTY = new Uint8Array(0);

/** Which loaded function a descriptor names: its code, working dir and captured values. */
export function functionKey(d: tray.v1.IFunctionDescriptor): string {
  const captures = d.captures;
  let capturesKey = '';
  if (captures && captures.length > 0) {
    capturesKey =
      captures.length <= 96
        ? Buffer.from(captures.buffer, captures.byteOffset, captures.byteLength).toString('base64')
        : createHash('sha1').update(captures).digest('hex');
  }
  return `${hex(d.hash ?? EMPTY)}:${d.workingDir ?? ''}:${capturesKey}`;
}

/** The shipped code a descriptor carries, as shipping/ loads it. */
export function shippedCodeOf(d: tray.v1.IFunctionDescriptor): ShippedCode {
  const common = {
    kind: d.kind === 1 ? ('class' as const) : ('function' as const),
    name: d.name ?? '',
    arity: d.arity ?? 0,
    hash: hex(d.hash ?? new Uint8Array(0)),
    captures: {},
  };
  if (d.moduleUrl) {
    return { ...common, by: 'reference', moduleUrl: d.moduleUrl, exportName: d.exportName ?? '' };
  }
  return { ...common, by: 'value', source: d.source ?? '', strict: d.strict ?? false };
}
