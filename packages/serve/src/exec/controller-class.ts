// The controller's actor class, shipped by reference to dist/worker/actors.js (serve.start
// creates it from drivers).
import * as tray from '@tray/core';
import { ServeController } from '../controller/controller.js';
import { ACTORS_MODULE } from './module-url.js';

let controller: tray.ActorClass<typeof ServeController> | undefined;

export function controllerClass(): tray.ActorClass<typeof ServeController> {
  controller ??= tray.remote(ServeController, { module: ACTORS_MODULE, exportName: 'ServeController' });
  return controller;
}
