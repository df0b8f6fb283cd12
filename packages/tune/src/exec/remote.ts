// The library's own actor class, shipped by reference to dist/worker/actors.js (workers import
// that module once; calls carry only arguments). Made on first use.
import * as tray from '@tray/core';
import { TrialRunner } from '../worker/actors.js';

/** The worker module beside this bundle (dist/index.js → dist/worker/actors.js). */
export const ACTORS_MODULE = new URL('./worker/actors.js', import.meta.url).href;

let runnerClass: tray.ActorClass<typeof TrialRunner> | undefined;

export function trialRunnerActor(): tray.ActorClass<typeof TrialRunner> {
  runnerClass ??= tray.remote(TrialRunner, { module: ACTORS_MODULE, exportName: 'TrialRunner' });
  return runnerClass;
}
