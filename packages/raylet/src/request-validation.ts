// The raylet's one check of its own on what arrives from the network (the others are
// @tray/protocol's, shared with the GCS): a proto ResourceSet as a scheduler ResourceSet. A bad
// one is an INVALID_ARGUMENT that names the field and what was wrong with it.
import { invalidArgument, type tray } from '@tray/protocol';
import { InvalidResourceError, ResourceSet } from '@tray/scheduler';

/** A proto ResourceSet as a validated scheduler ResourceSet. */
export function toResourceSet(
  message: tray.v1.ResourceSet.$Properties | null | undefined,
  field: string,
): ResourceSet {
  try {
    return ResourceSet.from(message?.quantities ?? {}, field);
  } catch (err) {
    if (err instanceof InvalidResourceError) throw invalidArgument(err.message);
    throw err;
  }
}
