// @tray/raylet: a node's daemon. `startRaylet` runs it in this process; `@tray/raylet/main`
// runs it as a child process (docs/processes.md).

export { type NodeMemory, readNodeMemory } from './node-memory.js';
export { defaultObjectStoreMemory, type RayletOptions } from './options.js';
export { type Raylet, startRaylet } from './raylet.js';
