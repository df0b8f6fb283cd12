// serve's replica and code-store actor classes, shipped by reference to dist/worker/actors.js:
// workers import that module once, calls carry only arguments. Made on first use.
import * as tray from '@tray/core';
import { ServeCodeStore } from '../controller/code-store.js';
import { ServeReplica } from '../replica/replica.js';
import { ACTORS_MODULE } from './module-url.js';

let replica: tray.ActorClass<typeof ServeReplica> | undefined;
let codeStore: tray.ActorClass<typeof ServeCodeStore> | undefined;

export function replicaClass(): tray.ActorClass<typeof ServeReplica> {
  replica ??= tray.remote(ServeReplica, { module: ACTORS_MODULE, exportName: 'ServeReplica' });
  return replica;
}

export function codeStoreClass(): tray.ActorClass<typeof ServeCodeStore> {
  codeStore ??= tray.remote(ServeCodeStore, { module: ACTORS_MODULE, exportName: 'ServeCodeStore' });
  return codeStore;
}
