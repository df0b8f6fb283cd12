// The library's actor classes as tray actor classes, shipped by reference to
// dist/worker/actors.js (workers import that module once; calls carry only arguments). Made on
// first use: tray.remote needs nothing from the cluster, but the definitions are per process.
import * as tray from '@tray/core';
import { TrainWorker } from '../worker/actors.js';

/** The worker module beside this bundle (dist/index.js → dist/worker/actors.js). */
export const ACTORS_MODULE = new URL('./worker/actors.js', import.meta.url).href;

let workerClass: tray.ActorClass<typeof TrainWorker> | undefined;

export function trainWorker(): tray.ActorClass<typeof TrainWorker> {
  workerClass ??= tray.remote(TrainWorker, { module: ACTORS_MODULE, exportName: 'TrainWorker' });
  return workerClass;
}
