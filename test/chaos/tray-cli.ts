// The `tray` command for test/chaos, as a user runs it: the bin @tray/cli's package.json names
// (@tray/test-support's packageBin: found through the package, as npm links it, not by a path
// into packages/), a real child process per command with a private TMPDIR and without the
// machine's own cluster settings (runCli); and a TestCluster that, after each test, SIGKILLs
// what the test started and removes the /dev/shm segments and directories its raylets left
// (@tray/test-support's ClusterHomes with @tray/raylet/session's removeStaleFiles). The CLI's
// own tests run the same bin the same way (packages/cli/test/cli-process.ts).
import { removeStaleFiles } from '@tray/raylet/session';
import { type CliRun, ClusterHomes, packageBin, runCli } from '@tray/test-support';

const BIN = packageBin('@tray/cli', import.meta.url, 'tray');

export type Run = CliRun;

/** Run `tray <args>` with TMPDIR `tmpdir` and no TRAY_ADDRESS/TRAY_TOKEN of the machine's. */
export function tray(
  args: string[],
  tmpdir: string,
  timeoutMs?: number,
  extraEnv?: Record<string, string>,
): Promise<Run> {
  return runCli(BIN, args, tmpdir, timeoutMs, extraEnv);
}

/** Temp dirs (TMPDIRs for `tray start`) and pids of the current test; call cleanUp afterEach. */
export class TestCluster extends ClusterHomes {
  constructor() {
    super({
      prefix: 'tray-chaos-',
      removeLeftovers: (dir) => removeStaleFiles({ tmpDir: dir, keepSessions: true }),
    });
  }
}
