// The CoreWorkerService methods every process serves as an owner: borrowers fetch values
// (GetObjectStatus) and register or end borrows (UpdateBorrowers), streaming tasks report the
// items they yield (ReportGeneratorItemReturns), and peers ask to free objects (DeleteObjects).
// A borrower whose connection closes stops borrowing everything.
import { type Connection, CoreWorkerService, ErrorType, RemoteError, type tray } from '@tray/protocol';
import { hex } from './ids.js';
import { collectGarbage } from './local-gc.js';
import type { MemoryStore } from './memory-store.js';
import type { ReferenceCounter } from './reference-counter.js';
import { storedFromValue, type TaskManager } from './task-manager.js';

/** What serving the owner's methods needs of its process (the core worker gives itself). */
export interface OwnerContext {
  readonly address: tray.v1.IAddress;
  readonly nodeId: Buffer;
  readonly memoryStore: MemoryStore;
  readonly refs: ReferenceCounter;
  /** Streaming generators' tasks, whose items are reported here. */
  readonly tasks: TaskManager;
  readonly isShutDown: boolean;
}

export function serveOwnerMethods(core: OwnerContext, connection: Connection): void {
  connection.handle(CoreWorkerService.GetObjectStatus, async (req) => {
    const idHex = hex(req.objectId);
    if (!core.memoryStore.has(idHex) && !core.refs.has(idHex)) {
      return { status: 1 /* OUT_OF_SCOPE */ };
    }
    const stored = await core.memoryStore.ready(idHex);
    const object: tray.v1.IObjectValue = {
      objectId: req.objectId,
      data: stored.data,
      inPlasma: stored.inPlasma,
      error: stored.error,
      nestedRefs: stored.nestedRefs,
      size: stored.size,
      nodeId: stored.nodeId ?? core.nodeId,
    };
    return { status: 0 /* CREATED */, object };
  });

  // What this connection's borrower added, removed from every set if the connection closes.
  // Adds a worker made for its caller (for_caller) are the caller's, which removes them itself.
  const borrowed = new Set<string>();
  let borrowerHex: string | undefined;
  connection.handle(CoreWorkerService.UpdateBorrowers, (req) => {
    const who = req.borrowerAddress?.workerId?.length ? hex(req.borrowerAddress.workerId) : undefined;
    if (who === undefined) {
      throw new RemoteError({
        type: ErrorType.INVALID_ARGUMENT,
        message: 'UpdateBorrowers needs borrower_address.worker_id: the borrower to record',
      });
    }
    const own = !req.forCaller;
    if (own) borrowerHex = who;
    for (const id of req.addObjectIds) {
      const idHex = hex(id);
      core.refs.addBorrower(idHex, who);
      if (own) borrowed.add(idHex);
    }
    for (const id of req.removeObjectIds) {
      const idHex = hex(id);
      if (own) borrowed.delete(idHex);
      core.refs.removeBorrower(idHex, who);
    }
    return {};
  });
  connection.on('close', () => {
    if (borrowerHex === undefined || core.isShutDown) return;
    for (const idHex of borrowed) core.refs.removeBorrower(idHex, borrowerHex);
  });

  connection.handle(CoreWorkerService.ReportGeneratorItemReturns, (req) => {
    const task = core.tasks.get(hex(req.generatorId));
    const item = req.item;
    if (task?.stream === undefined || !item?.objectId) return { consumedIndex: 0 };
    const idHex = hex(item.objectId);
    core.refs.addOwned(idHex, core.address);
    core.memoryStore.put(idHex, storedFromValue(item));
    if (item.nestedRefs && item.nestedRefs.length > 0) {
      core.refs.addContained(
        idHex,
        item.nestedRefs.map((r) => [hex(r.objectId!), r.ownerAddress ?? undefined]),
      );
    }
    const index = Number(req.itemIndex);
    task.stream.itemReported(index, Buffer.from(item.objectId));
    // Backpressure: the worker asks its generator for the next item only after this reply.
    const when = task.stream.replyWhen(index);
    if (when === undefined) return { consumedIndex: index };
    return when.then(() => ({ consumedIndex: index }));
  });

  connection.handle(CoreWorkerService.DeleteObjects, () => ({}));
  connection.handle(CoreWorkerService.LocalGC, () => {
    collectGarbage();
    return {};
  });
}
