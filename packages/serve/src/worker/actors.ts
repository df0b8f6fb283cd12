// The actor classes serve runs (controller, replicas, proxies), shipped by reference: workers
// import this module by file URL (dist/worker/actors.js) once per process.
export {};
