// One head node for a jobs test file, started as a user starts it: `tray start --head` (the bin
// of @tray/cli, a private TMPDIR, a GCS and dashboard on free ports), its record and token; and
// the cleanup afterAll: `tray stop`, then SIGKILL of every pid the node had (dashboard included)
// and the directories and segments its raylet left (test/chaos's TestCluster).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from '@tray/test-support';
import { TestCluster, tray } from '../chaos/tray-cli.js';

export interface HeadRecord {
  gcsAddress: string;
  sessionDir: string;
  tokenFile: string;
  dashboardUrl: string;
  pids: { supervisor: number; gcs: number; raylet: number; dashboard: number };
}

export class JobsHead {
  readonly cluster = new TestCluster();
  tmp = '';
  token = '';

  /** The record as it is now (the dashboard's pid changes when it is restarted). */
  record(): HeadRecord {
    return JSON.parse(readFileSync(path.join(this.tmp, 'tray', 'current_cluster.json'), 'utf8'));
  }

  get url(): string {
    return this.record().dashboardUrl;
  }

  async start(): Promise<void> {
    this.tmp = this.cluster.tempDir();
    const run = await tray(
      ['start', '--head', '--port', '0', '--num-cpus', '2', '--dashboard-port', '0'],
      this.tmp,
    );
    if (run.code !== 0) throw new Error(`tray start --head failed: ${run.stderr}${run.stdout}`);
    const record = this.record();
    this.cluster.started.push(...Object.values(record.pids));
    this.token = readFileSync(record.tokenFile, 'utf8').trim();
  }

  /** `tray <args>` against this head (its TMPDIR: the CLI finds the dashboard and token itself). */
  cli(args: string[], timeoutMs = 120_000) {
    return tray(args, this.tmp, timeoutMs);
  }

  /** tray stop, then whatever is left SIGKILLed; resolves the pids that outlived `tray stop`. */
  async stop(): Promise<number[]> {
    if (this.tmp === '') return [];
    const pids = Object.values(this.record().pids);
    this.cluster.started.push(...pids);
    await this.cli(['stop']).catch(() => undefined);
    const survivors = pids.filter(isAlive);
    await this.cluster.cleanUp();
    return survivors;
  }
}
