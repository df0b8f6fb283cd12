// Owner addresses as they travel inside values (serialization.ts's OwnerRecord, once per owner
// per value) and back: the core worker's ValueCodec writes and reads them with these. One record
// per address object, and one address object per owner read back, so refs of one owner share it.
import type { tray } from '@tray/protocol';
import { hex } from './ids.js';
import type { OwnerRecord } from './value-codec.js';

const ownerRecords = new WeakMap<tray.v1.IAddress, OwnerRecord>();

export function encodeOwner(owner: tray.v1.IAddress): OwnerRecord {
  let record = ownerRecords.get(owner);
  if (record === undefined) {
    record = {
      nodeId: owner.nodeId ? hex(owner.nodeId) : undefined,
      workerId: owner.workerId ? hex(owner.workerId) : undefined,
      ip: owner.ip ?? undefined,
      port: owner.port ?? undefined,
      socketPath: owner.socketPath ?? undefined,
    };
    ownerRecords.set(owner, record);
  }
  return record;
}

/** The owner's address; one object per owner, so refs of one owner share it. */
export function decodeOwner(o: OwnerRecord, owners: Map<string, tray.v1.IAddress>): tray.v1.IAddress {
  const key = `${o.workerId}|${o.socketPath}|${o.ip}|${o.port}`;
  let owner = owners.get(key);
  if (owner === undefined) {
    owner = {
      nodeId: o.nodeId ? Buffer.from(o.nodeId, 'hex') : undefined,
      workerId: o.workerId ? Buffer.from(o.workerId, 'hex') : undefined,
      ip: o.ip,
      port: o.port,
      socketPath: o.socketPath,
    };
    owners.set(key, owner);
  }
  return owner;
}
