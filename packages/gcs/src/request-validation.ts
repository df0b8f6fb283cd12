// The GCS's one check of its own on what arrives from the network (the others are
// @tray/protocol's, shared with the raylet): resource quantities in a request.
import { invalidArgument } from '@tray/protocol';

/** Every quantity of a resource set must be a finite, non-negative number. */
export function checkResources(
  resources: { quantities?: { [name: string]: number } | null } | null | undefined,
  field: string,
): void {
  for (const [name, quantity] of Object.entries(resources?.quantities ?? {})) {
    if (name.length === 0) throw invalidArgument(`${field} has a resource with an empty name`);
    if (!Number.isFinite(quantity) || quantity < 0) {
      throw invalidArgument(`${field}.${name} must be a finite number >= 0, got ${quantity}`);
    }
  }
}
