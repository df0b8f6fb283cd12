// The worker process's entry point: the raylet spawns `node dist/worker/main.js`.
export {};
