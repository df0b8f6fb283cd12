// The reference table's rows (GetCoreWorkerStats): Ray's reference type for each way a process
// holds an object, the size and status from the memory store, and the row cap with `truncated`.
import { describe, expect, it } from 'vitest';
import { MemoryStore } from './memory-store.js';
import { objectStats } from './object-stats.js';
import { ReferenceCounter } from './reference-counter.js';

const me = { workerId: Buffer.alloc(28, 1) };
const id = (n: number) => n.toString(16).padStart(56, '0');

function table() {
  const hooks = { freeOwned: () => {}, borrowStarted: () => {}, borrowEnded: () => {} };
  const refs = new ReferenceCounter(hooks, (owner) => owner === undefined || owner === me);
  return { refs, store: new MemoryStore() };
}

describe('objectStats', () => {
  it('says how each object is held, with its size and whether its value is there', () => {
    const { refs, store } = table();
    refs.addOwned(id(1), me);
    refs.addLocalRef(id(1), me);
    store.put(id(1), { inPlasma: true, size: 2048 });
    refs.addOwned(id(2), me);
    refs.addLocalRef(id(2), me);
    refs.addSubmitted([[id(2), me]]);
    refs.addOwned(id(3), me);
    refs.addLocalRef(id(3), me);
    refs.addContained(id(3), [[id(4), me]]);
    refs.addOwned(id(5), me).onFree = () => {};
    refs.addLocalRef(id(5), me);
    const reply = objectStats(refs, store, 0);
    const byId = new Map(reply.objectRefs!.map((r) => [Buffer.from(r.objectId!).toString('hex'), r]));
    expect(byId.get(id(1))).toMatchObject({
      referenceType: 'LOCAL_REFERENCE',
      objectSize: 2048,
      taskStatus: 'FINISHED',
      inPlasma: true,
    });
    expect(byId.get(id(2))).toMatchObject({
      referenceType: 'USED_BY_PENDING_TASK',
      objectSize: -1,
      taskStatus: 'PENDING',
    });
    expect(byId.get(id(4))).toMatchObject({ referenceType: 'CAPTURED_IN_OBJECT', containedInOwned: 1 });
    expect(byId.get(id(5))).toMatchObject({ referenceType: 'ACTOR_HANDLE', taskStatus: 'NIL' });
    expect(reply).toMatchObject({ truncated: false, pid: process.pid });
  });

  it('stops at the limit and says the table was cut', () => {
    const { refs, store } = table();
    for (let i = 1; i <= 5; i++) {
      refs.addOwned(id(i), me);
      refs.addLocalRef(id(i), me);
    }
    const reply = objectStats(refs, store, 3);
    expect(reply.objectRefs).toHaveLength(3);
    expect(reply.truncated).toBe(true);
    expect(objectStats(refs, store, 5).truncated).toBe(false);
  });
});
