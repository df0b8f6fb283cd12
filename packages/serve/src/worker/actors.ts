// The actor classes serve runs (controller, replicas, the controller's code store, proxies), shipped by
// reference: workers import this module by file URL (dist/worker/actors.js) once per process.
export { ServeCodeStore } from '../controller/code-store.js';
export { ServeController } from '../controller/controller.js';
export { ServeProxy } from '../proxy/proxy-actor.js';
export { ServeReplica } from '../replica/replica.js';
