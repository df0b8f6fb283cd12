// The actor classes train runs (training workers), shipped by reference: workers import this
// module by file URL (dist/worker/actors.js) once per process.
export { CollectiveRendezvous } from '../collective/rendezvous-actor.js';
