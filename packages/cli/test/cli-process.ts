// The `tray` bin and drivers as a user runs them, for the CLI's tests: a real child process per
// command (@tray/test-support's runCli/runSource), the bin this package's package.json names
// (packageBin, as npm links it), without the machine's own cluster settings (TRAY_ADDRESS,
// TRAY_TOKEN), a private TMPDIR per test (so current_cluster.json and sessions never touch the
// machine's own), and cleanup of every daemon a test started.
import path from 'node:path';
import { removeStaleFiles } from '@tray/raylet/session';
import { type CliRun, ClusterHomes, packageBin, runCli, runSource } from '@tray/test-support';

export const BIN = packageBin('@tray/cli', import.meta.url, 'tray');

/** The machine's own cluster settings must not leak in. */
const NO_CLUSTER = { TRAY_ADDRESS: undefined, TRAY_TOKEN: undefined };

/** `tray(args, tmpdir, timeoutMs?, extraEnv?)`: `tray <args>` with TMPDIR `tmpdir` (runCli). */
export const tray = runCli.bind(undefined, BIN);

/** Run an ES module driver from this package's directory (so it resolves @tray/core). */
export async function driver(
  source: string,
  extraEnv: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliRun> {
  const run = await runSource(source, {
    cwd: path.join(path.dirname(BIN), '..'),
    env: { ...NO_CLUSTER, ...extraEnv },
    timeoutMs,
  });
  return { code: run.code ?? 1, stdout: run.stdout, stderr: run.stderr };
}

/**
 * Temp dirs (each a TMPDIR for `tray start`) and daemon pids of the current test, cleaned up by
 * `cleanUp` (call it afterEach): SIGKILL what the test started, then remove the shared-memory
 * segments those raylets (and any the test itself killed) could not remove.
 */
export class TestCluster extends ClusterHomes {
  constructor() {
    super({
      prefix: 'tray-cli-test-',
      removeLeftovers: (dir) => removeStaleFiles({ tmpDir: dir, keepSessions: true }),
    });
  }
}
