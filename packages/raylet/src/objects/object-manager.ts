// The raylet's object manager: moves objects between nodes' stores. It owns a store client of
// its own node's store (the raylet reads and writes objects through it like any client), the
// sending half (NodeManagerService.GetObjectChunk on the raylet's framed listeners:
// framed-chunk-sender.ts; ObjectManagerService.PullObjectChunks on its gRPC port:
// grpc-chunk-sender.ts) and
// the receiving half (NodeManagerService.PullObject: object-puller.ts), and freeing: an owner's
// FreeObjects deletes this node's copies and has the primaries' node delete them. Promises: `close()`
// cancels transfers in progress and disconnects from the store, which aborts what they were
// writing, so a stopping raylet leaves no half-made object behind.
import { StoreClient } from '@tray/object-store';
import {
  type Connection,
  checkId,
  type Message,
  type ObjectManagerService,
  type ServiceHandlers,
  type tray,
} from '@tray/protocol';
import { ObjectChunkServer } from './framed-chunk-sender.js';
import { checkObjectIds, deleteHere, NODE_ID_BYTES, objectManagerHandlers } from './grpc-chunk-sender.js';
import { NodeDirectory } from './node-directory.js';
import { ObjectPuller } from './object-puller.js';

export interface ObjectManagerOptions {
  nodeId: Buffer;
  token: string;
  gcsAddress: string | undefined;
  /** The node's store socket, or undefined when the raylet hosts no store. */
  storeSocket: string | undefined;
  /** Transfer tuning (object-puller.ts defaults). */
  chunkBytes?: number;
  window?: number;
}

export class ObjectManager {
  private readonly chunks: ObjectChunkServer;

  private constructor(
    private readonly nodeId: Buffer,
    private readonly store: StoreClient | undefined,
    private readonly puller: ObjectPuller,
  ) {
    this.chunks = new ObjectChunkServer(nodeId.toString('hex'), store);
  }

  static async start(o: ObjectManagerOptions): Promise<ObjectManager> {
    const store = o.storeSocket === undefined ? undefined : await StoreClient.connect(o.storeSocket);
    const directory = new NodeDirectory(o.gcsAddress, o.token);
    const puller = new ObjectPuller({
      nodeId: o.nodeId,
      token: o.token,
      store,
      directory,
      chunkBytes: o.chunkBytes,
      window: o.window,
    });
    return new ObjectManager(o.nodeId, store, puller);
  }

  /** ObjectManagerService, for the raylet's gRPC server. */
  grpcHandlers(): ServiceHandlers<typeof ObjectManagerService> {
    return objectManagerHandlers(this.nodeId.toString('hex'), this.store);
  }

  /** Serve GetObjectChunk on a framed connection of the raylet's listeners (token checked there). */
  serveFramed(connection: Connection): void {
    this.chunks.serve(connection);
  }

  /** NodeManagerService.FreeObjects: this node's copies, and the primaries on `node_id`. */
  async free(req: tray.v1.FreeObjectsOnNodeRequest): Promise<Message<tray.v1.FreeObjectsOnNodeReply>> {
    const ids = checkObjectIds(req.objectIds, 'object_ids');
    const node = checkId(req.nodeId, NODE_ID_BYTES, 'node_id', true);
    await deleteHere(this.store, ids);
    if (node.length > 0 && !node.equals(this.nodeId) && ids.length > 0) {
      await this.puller.freeOn(node.toString('hex'), ids);
    }
    return {};
  }

  /** NodeManagerService.PullObject. */
  pull(req: tray.v1.PullObjectRequest): Promise<Message<tray.v1.PullObjectReply>> {
    return this.puller.pull(req);
  }

  async close(): Promise<void> {
    this.puller.close();
    await this.store?.close();
  }
}
