// The byte lengths of tray's ids, declared once for every package (Ray's lengths; common.proto):
// JobID 4, ActorID 16 (12 unique + JobID), TaskID 24 (20 unique + JobID), ObjectID 28 (TaskID +
// a 4-byte return index), NodeID and WorkerID 28, PlacementGroupID 18 (14 unique + JobID).
// Lease ids are tray's own: any 1 to 64 bytes on the wire, 16 random bytes when tray makes one.

export const IdBytes = {
  job: 4,
  actor: 16,
  task: 24,
  object: 28,
  node: 28,
  worker: 28,
  placementGroup: 18,
  /** A lease id tray makes (randomBytes). */
  lease: 16,
  /** The most a lease id from the wire may hold. */
  maxLease: 64,
} as const;

export type IdKind = keyof typeof IdBytes;
