// The node's object store, hosted in the raylet's process (as Ray's plasma store runs in a
// raylet thread): @tray/object-store's StoreServer on `<sessionDir>/sockets/store`. Turned off
// with `objectStore: false` (tests of scheduling alone), in which case workers get the path
// but nothing listens there.
import { type StoredObject, StoreServer, type StoreStats } from '@tray/object-store';

export interface HostedStore {
  readonly socketPath: string;
  /** The store's counters now (undefined when the node hosts no store). */
  stats(): StoreStats | undefined;
  /** Up to `limit` of the objects held, and how many there are (none without a store). */
  listObjects(limit: number): { objects: StoredObject[]; total: number };
  close(): Promise<void>;
}

export async function startObjectStore(
  socketPath: string,
  capacity: number,
  enabled: boolean,
): Promise<HostedStore> {
  if (!enabled)
    return {
      socketPath,
      stats: () => undefined,
      listObjects: () => ({ objects: [], total: 0 }),
      close: async () => {},
    };
  const server = await StoreServer.start({ socketPath, capacity });
  return {
    socketPath,
    stats: () => server.stats(),
    listObjects: (limit) => server.listObjects(limit),
    close: () => server.close(),
  };
}
