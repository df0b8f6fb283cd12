// Where serve's actor module is: dist/worker/actors.js, found from dist/index.js (drivers) or
// from itself (the controller, which creates replicas, runs inside it).
const here = import.meta.url;

export const ACTORS_MODULE = /\/worker\/actors\.js$/.test(here)
  ? here
  : new URL('./worker/actors.js', here).href;
