// The library's actor classes as tray actor classes, shipped by reference to
// dist/worker/actors.js (workers import that module once; calls carry only arguments). Made on
// first use: tray.remote needs nothing from the cluster, but the definitions are per process.
import * as tray from '@tray/core';
import { TrainWorker } from '../worker/actors.js';

/** dist/worker/NAME.js from this bundle: dist/index.js, or a dist/worker/ bundle (a Tune trial's). */
function workerModule(name: string): string {
  const inWorker = /\/worker\/[^/]+\.js$/.test(import.meta.url);
  return new URL(inWorker ? `./${name}.js` : `./worker/${name}.js`, import.meta.url).href;
}

/** The worker module of the training workers' actor class. */
export const ACTORS_MODULE = workerModule('actors');

/** The module a Tune trial actor imports to run a trainer (trainer.asTrainable()). */
export const TUNE_TRIAL_MODULE = workerModule('tune-trial');

let workerClass: tray.ActorClass<typeof TrainWorker> | undefined;

export function trainWorker(): tray.ActorClass<typeof TrainWorker> {
  workerClass ??= tray.remote(TrainWorker, { module: ACTORS_MODULE, exportName: 'TrainWorker' });
  return workerClass;
}
