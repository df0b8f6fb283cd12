// The actor classes tune runs (trial runners), shipped by reference: workers import this module
// by file URL (dist/worker/actors.js) once per process.
export {};
