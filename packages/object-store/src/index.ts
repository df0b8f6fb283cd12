// @tray/object-store: the node's shared-memory object store. StoreServer is hosted by the
// raylet; StoreClient is used by drivers and workers; the errors are what both throw.

export { copyInto } from './client/copy.js';
export { fallbackDir, SHM_DIR, SharedFile, sharedFileDir } from './client/shared-file.js';
export {
  type CreatedObject,
  type CreateOptions,
  type GetOptions,
  StoreClient,
  type StoreClientOptions,
  type StoreObject,
} from './client/store-client.js';
export {
  ObjectExistsError,
  ObjectInUseError,
  ObjectNotFoundError,
  ObjectNotSealedError,
  ObjectStoreError,
  ObjectStoreFullError,
  OutOfDiskError,
} from './errors.js';
export { addonCandidates, loadNative, packageRoot, prebuildTag } from './native.js';
export {
  type StoredObject,
  StoreServer,
  type StoreServerOptions,
  type StoreStats,
} from './server/store-server.js';
export { OBJECT_ID_BYTES } from './validate.js';

import { loadNative } from './native.js';

/** Where a view's bytes are in this process: diagnostics, and proof of zero copy in tests. */
export function mappedAddress(buffer: ArrayBuffer): bigint {
  return loadNative().address(buffer);
}
