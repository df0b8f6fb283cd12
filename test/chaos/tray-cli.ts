// The `tray` command for test/chaos, as a user runs it: the bin @tray/cli's package.json names
// (@tray/test-support's packageBin: found through the package, as npm links it, not by a path
// into packages/), a real child process per command with a private TMPDIR and without the
// machine's own cluster settings (runCli); and a TestCluster that, after each test, SIGKILLs
// what the test started and removes the /dev/shm segments and directories its raylets left
// (@tray/test-support's ClusterHomes with @tray/raylet/session's removeStaleFiles). The CLI's
// own tests run the same bin the same way (packages/cli/test/cli-process.ts).
import { removeStaleFiles } from '@tray/raylet/session';
import { ClusterHomes, packageBin, runCli } from '@tray/test-support';

const BIN = packageBin('@tray/cli', import.meta.url, 'tray');

/** `tray(args, tmpdir, timeoutMs?, extraEnv?)`: `tray <args>` with TMPDIR `tmpdir` (runCli). */
export const tray = runCli.bind(undefined, BIN);

/** Temp dirs (TMPDIRs for `tray start`) and pids of the current test; call cleanUp afterEach. */
export class TestCluster extends ClusterHomes {
  constructor() {
    super({
      prefix: 'tray-chaos-',
      removeLeftovers: (dir) => removeStaleFiles({ tmpDir: dir, keepSessions: true }),
    });
  }
}
