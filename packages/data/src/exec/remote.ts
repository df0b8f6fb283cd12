// The library's own remote functions and actor classes, shipped by reference to
// dist/worker/tasks.js (workers import that module once; tasks carry only arguments). Made on
// first use, since tray.remote needs nothing from the cluster but the definitions are per process.
import * as tray from '@tray/core';
import * as tasks from '../worker/tasks.js';

/** The worker module beside this bundle (dist/index.js → dist/worker/tasks.js). */
export const TASKS_MODULE = new URL('./worker/tasks.js', import.meta.url).href;

type TaskName = {
  [K in keyof typeof tasks]: (typeof tasks)[K] extends (...args: any[]) => any ? K : never;
}[keyof typeof tasks];

const made = new Map<string, tray.RemoteFunction>();

/** A task function of worker/tasks.ts as a remote function. */
export function remoteTask(name: TaskName): tray.RemoteFunction {
  let fn = made.get(name);
  if (fn === undefined) {
    // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the worker module is one bundle either way
    fn = tray.remote(tasks[name] as (...args: any[]) => any, { module: TASKS_MODULE, exportName: name });
    made.set(name, fn);
  }
  return fn;
}

let actorClass: tray.ActorClass<typeof tasks.MapBatchesActor> | undefined;

export function mapBatchesActor(): tray.ActorClass<typeof tasks.MapBatchesActor> {
  actorClass ??= tray.remote(tasks.MapBatchesActor, { module: TASKS_MODULE, exportName: 'MapBatchesActor' });
  return actorClass;
}

let coordinatorClass: tray.ActorClass<typeof tasks.SplitCoordinator> | undefined;

export function splitCoordinator(): tray.ActorClass<typeof tasks.SplitCoordinator> {
  coordinatorClass ??= tray.remote(tasks.SplitCoordinator, {
    module: TASKS_MODULE,
    exportName: 'SplitCoordinator',
  });
  return coordinatorClass;
}
