// `<tmpdir>/tray/current_cluster.json`: what `tray start` left running on this machine, so that
// `tray stop` and `tray status` find it. One record per machine; a record whose processes are
// all gone is stale and may be replaced.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { currentClusterFile } from '@tray/raylet/session';

export { currentClusterFile };

export interface ClusterPids {
  /** The detached process that owns the daemons below (stopping it stops them). */
  supervisor: number;
  gcs?: number;
  raylet: number;
  /** The head's dashboard process (absent with --include-dashboard false). */
  dashboard?: number;
}

export interface CurrentCluster {
  gcsAddress: string;
  sessionDir: string;
  tokenFile: string;
  /** True when this machine runs the GCS (started with --head). */
  head: boolean;
  nodeId: string;
  pids: ClusterPids;
  /** `http://host:port` of the head's dashboard. */
  dashboardUrl?: string;
  /** The Redis holding the GCS's tables (--redis-address; its password is never written here). */
  redis?: string;
}

/** The record, undefined when there is none; a corrupt file is reported, not guessed at. */
export function readCurrentCluster(): CurrentCluster | undefined {
  let raw: string;
  try {
    raw = readFileSync(currentClusterFile(), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let value: CurrentCluster;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`${currentClusterFile()} is not valid JSON; remove it if no cluster is running`);
  }
  if (typeof value?.gcsAddress !== 'string' || typeof value.pids?.supervisor !== 'number') {
    throw new Error(
      `${currentClusterFile()} is not a tray cluster record; remove it if no cluster is running`,
    );
  }
  return value;
}

/** Written beside and renamed over the record, so a reader never sees half of it. */
export function writeCurrentCluster(record: CurrentCluster): void {
  const file = currentClusterFile();
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(partial, file);
}

export function removeCurrentCluster(): void {
  rmSync(currentClusterFile(), { force: true });
}

export function allPids(pids: ClusterPids): number[] {
  return [pids.supervisor, pids.gcs, pids.raylet, pids.dashboard].filter(
    (pid): pid is number => typeof pid === 'number',
  );
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Alive and still one of ours: a stale record's pid may have been reused by an unrelated process,
 * which `tray stop` must not signal. Where /proc is missing (macOS), liveness has to do.
 */
export function isNodeProcess(pid: number): boolean {
  if (!isAlive(pid)) return false;
  if (!existsSync('/proc/self/cmdline')) return true;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /node-supervisor\.js|[\\/]main\.js/.test(cmdline);
  } catch {
    return false; // gone between the two checks
  }
}
