// @tray/test-support: what tray's tests share, in one place and with one shape (private, never
// published). It imports no @tray package, so every package's tests may use it without a cycle
// in the package graph (tools/graph-check.mjs); what needs a package's code takes it as an
// argument (a daemon's main script, a directory).

export { type CliRun, packageBin, runCli } from './bins.js';
export { makeTestCerts, type TestCerts } from './certs.js';
export { Cleanup, cleanUp, onCleanup, tempDir } from './cleanup.js';
export { ClusterHomes, type ClusterHomesOptions } from './cluster-homes.js';
export { type Daemon, type DaemonOptions, killDaemons, startDaemon } from './daemons.js';
export { parseMetrics, type Sample, type Scrape, scrapeMetrics } from './metrics-text.js';
export { freePort } from './ports.js';
export {
  childPids,
  childPidsMatching,
  commandLine,
  descendants,
  isAlive,
  type KillOptions,
  killAndWait,
  processesWithEnv,
  rssBytes,
} from './processes.js';
export { type RedisServer, startRedisServer } from './redis-server.js';
export {
  type Driver,
  resultOf,
  runScript,
  runSource,
  type ScriptOptions,
  type ScriptRun,
  startDriver,
} from './scripts.js';
export { removeStoreSegments, storeSegments } from './shm.js';
export { DEFAULT_TIMEOUT_MS, type Tracked, track, type WaitOptions, waitFor } from './wait.js';
