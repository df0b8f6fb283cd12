// The arguments of an actor call or creation as task args, built at `.remote()` time (so a bad
// argument fails there): plain values serialized inline (large ones put into the store once, as
// objects owned here), top-level refs kept as refs to resolve before the call is sent, nested
// refs listed so their owners learn of the borrow. Mirrors what task submission does.
import type { tray } from '@tray/protocol';
import type { CoreWorker } from '../runtime/core-worker.js';
import { checkArgRef, isObjectRef, type ObjectRef } from '../runtime/object-ref.js';
import { INLINE_LIMIT_BYTES } from '../runtime/object-storage.js';

export interface CallArgs {
  args: tray.v1.ITaskArg[];
  /** Every ref the args hold (released when the call ends). */
  argRefs: string[];
  refOwners: [string, tray.v1.IAddress | undefined][];
  /** Top-level refs: resolved before the call is sent. */
  dependencies: { index: number; ref: ObjectRef<unknown> }[];
  /** Store objects made for large arguments (kept alive until sent). */
  keepAlive: ObjectRef<unknown>[];
}

export function buildCallArgs(core: CoreWorker, values: readonly unknown[], label: string): CallArgs {
  const out: CallArgs = { args: [], argRefs: [], refOwners: [], dependencies: [], keepAlive: [] };
  values.forEach((arg, i) => {
    if (isObjectRef(arg)) {
      checkArgRef(arg, `${label} argument ${i + 1}`);
      out.args.push({ objectRef: { objectId: arg.id, ownerAddress: arg.ownerAddress ?? core.address } });
      out.dependencies.push({ index: i, ref: arg });
      out.refOwners.push([arg.hex(), arg.ownerAddress]);
      return;
    }
    const value = core.serialize(arg, `${label} argument ${i + 1}`);
    if (value.size > INLINE_LIMIT_BYTES && core.storage.available) {
      const { ref } = core.storeSerialized(value, core.nextPutId());
      out.keepAlive.push(ref);
      out.args.push({ objectRef: { objectId: ref.id, ownerAddress: core.address } });
      out.dependencies.push({ index: i, ref });
      out.refOwners.push([ref.hex(), core.address]);
      return;
    }
    out.args.push({
      inlineValue: value.toBuffer(),
      nestedRefs: value.refs.map((r) => ({ objectId: r.id, ownerAddress: r.ownerAddress ?? core.address })),
    });
    for (const r of value.refs) out.refOwners.push([r.hex(), r.ownerAddress]);
  });
  out.argRefs = out.refOwners.map(([idHex]) => idHex);
  return out;
}

/**
 * Resolve the top-level ref arguments into `args` (small values inline); resolves with the
 * error of a failed one, if any.
 */
export async function resolveCallArgs(
  core: CoreWorker,
  args: tray.v1.ITaskArg[],
  dependencies: CallArgs['dependencies'],
): Promise<tray.v1.IErrorInfo | undefined> {
  const stored = await Promise.all(dependencies.map((d) => core.fetcher.ready(d.ref)));
  for (let i = 0; i < dependencies.length; i++) {
    const s = stored[i]!;
    if (s.error) return s.error;
    if (!s.inPlasma) args[dependencies[i]!.index] = { inlineValue: s.data, nestedRefs: s.nestedRefs };
  }
  return undefined;
}
