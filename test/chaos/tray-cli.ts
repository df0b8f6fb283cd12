// The `tray` command for test/chaos, as a user runs it: the bin @tray/cli's package.json names
// (found through the package, as npm links it, not by a path into packages/), a real child
// process per command with a private TMPDIR and without the machine's own cluster settings; and
// a TestCluster that, after each test, SIGKILLs what the test started and removes the /dev/shm
// segments and directories its raylets left (@tray/test-support's ClusterHomes with
// @tray/raylet/session's removeStaleFiles). The CLI's own tests have the same pair in
// packages/cli/test/cli-process.ts; that file is the CLI's test code, not part of its package.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { removeStaleFiles } from '@tray/raylet/session';
import { ClusterHomes, runScript } from '@tray/test-support';

const require = createRequire(import.meta.url);
const CLI_PACKAGE = require.resolve('@tray/cli/package.json');
const BIN = path.join(path.dirname(CLI_PACKAGE), JSON.parse(readFileSync(CLI_PACKAGE, 'utf8')).bin.tray);

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `tray <args>` with TMPDIR `tmpdir` and no TRAY_ADDRESS/TRAY_TOKEN of the machine's. */
export async function tray(
  args: string[],
  tmpdir: string,
  timeoutMs = 120_000,
  extraEnv: Record<string, string> = {},
): Promise<Run> {
  const run = await runScript(BIN, {
    args,
    cwd: process.cwd(),
    env: { TRAY_ADDRESS: undefined, TRAY_TOKEN: undefined, ...extraEnv, TMPDIR: tmpdir },
    timeoutMs,
  });
  return { code: run.code ?? 1, stdout: run.stdout, stderr: run.stderr };
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
