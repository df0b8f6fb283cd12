// Garbage collection on demand (LocalGC) and when a worker falls idle. Refs are counted by a
// FinalizationRegistry (runtime/object-ref.ts), so a ref remote code dropped is released only
// once V8 collects it, and an idle worker's heap does not grow, so V8 may never run. Without
// this, an object an actor or a task's worker dropped would stay pinned in the store (and in its
// owner's borrower set, and an actor its handle pointed to would stay alive) for as long as the
// worker lives. Ray's Python
// workers free at once (CPython counts references); this is the equivalent for a collected heap.
//
// Every second (an unref'd timer: it never keeps the process alive) the worker collects when it
// holds refs or views of store objects, runs no task, its event loop was idle (under
// BUSY_LOOP of the second: a worker busy outside tasks, like a serve proxy or replica answering
// HTTP, allocates, so V8 collects on its own) and its heap changed since it last collected — so
// a busy worker and an idle one whose garbage is gone cost nothing. LocalGC (owner-service.ts)
// collects on request.
import { performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

const IDLE_CHECK_MS = 1000;
/**
 * Event-loop utilization above which a worker counts as busy. A serve proxy answering HTTP (no
 * task running) was collected in full every second: 30-140 ms of its main thread and as much on
 * V8's helper threads, half its CPU per request under load.
 */
const BUSY_LOOP = 0.02;

let collector: (() => void) | undefined;

/** V8's full collection, made available in this process without --expose-gc. */
export function collectGarbage(): void {
  if (collector === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed !== undefined) collector = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      collector = vm.runInNewContext('gc') as () => void;
    }
  }
  collector();
}

/**
 * Collect garbage whenever `idle()` and `holdsRefs()` are true and the heap changed since. A busy
 * event loop skips the collection only when it was busy with something other than tasks
 * (`tasksRun()`, a count of the tasks the worker has run, did not move): a worker running task
 * after task keeps being collected between them, or the store views its finished tasks dropped
 * would pin their objects until V8 collects on its own (a data shuffle's workers spilled).
 */
export function collectWhenIdle(
  idle: () => boolean,
  holdsRefs: () => boolean,
  tasksRun: () => number = () => 0,
): () => void {
  let heapAfterLast = -1;
  let loop = performance.eventLoopUtilization();
  let tasksAtLast = tasksRun();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const tasks = tasksRun();
    const busy = tasks === tasksAtLast && performance.eventLoopUtilization(now, loop).utilization > BUSY_LOOP;
    loop = now;
    tasksAtLast = tasks;
    if (busy || !holdsRefs() || !idle()) return;
    if (v8.getHeapStatistics().used_heap_size === heapAfterLast) return;
    collectGarbage();
    heapAfterLast = v8.getHeapStatistics().used_heap_size;
    // The collection's own time does not make the next second look busy.
    loop = performance.eventLoopUtilization();
  }, IDLE_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
