// The one error a collective raises. Every failure of a group (rendezvous, a peer's handshake, a
// bad frame, a dead or stuck member, a call after destroy) becomes a CollectiveGroupError whose
// message names the group, the operation and the rank concerned, so the trainer can restart the
// group and the user can see which worker took it down.
import { TrayError } from '@tray/core';

export class CollectiveGroupError extends TrayError {
  /** The group's name. */
  readonly group: string;
  /** The operation that failed ('allReduce', 'init', ...), with its sequence number when it had one. */
  readonly op: string;
  /** The rank that caused the failure (the dead, stuck or misbehaving peer), when known. */
  readonly peerRank: number | undefined;
  constructor(
    group: string,
    op: string,
    peerRank: number | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`collective group '${group}': ${op} failed: ${detail}`, options);
    this.group = group;
    this.op = op;
    this.peerRank = peerRank;
  }
}
