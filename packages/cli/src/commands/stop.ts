// `tray stop`: stops the node `tray start` left on this machine — SIGTERM to its supervisor and
// daemons, SIGKILL to whatever is left after the grace period — then removes its sockets and
// current_cluster.json, and the shared-memory segments and spill directories of raylets that are
// gone (a SIGKILLed raylet cannot remove its own). The session directory (logs) stays until the
// next start. Stopping when nothing runs is not an error.
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { removeStaleFiles } from '@tray/raylet/session';
import {
  allPids,
  isAlive,
  isNodeProcess,
  readCurrentCluster,
  removeCurrentCluster,
} from '../cluster/current-cluster.js';
import { type FlagSpec, parseFlags } from '../flags.js';

export const stopFlags: Record<string, FlagSpec> = {
  'grace-ms': { kind: 'count' },
};

const POLL_MS = 50;

export async function stop(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags('stop', argv, stopFlags);
  const graceMs = (flags.graceMs as number | undefined) ?? 15_000;
  const record = readCurrentCluster();
  if (!record) {
    out.write('no tray node started by `tray start` is running on this machine\n');
    return 0;
  }
  const pids = allPids(record.pids).filter(isNodeProcess);
  // The supervisor stops its daemons in order; signalling them too covers a supervisor that died.
  for (const pid of pids) signal(pid, 'SIGTERM');
  let alive = await waitGone(pids, graceMs);
  if (alive.length > 0) {
    out.write(`still running after ${graceMs} ms, killing: ${alive.join(', ')}\n`);
    for (const pid of alive) signal(pid, 'SIGKILL');
    alive = await waitGone(alive, 5_000);
  }
  removeSockets(record.sessionDir);
  await removeStaleFiles({ keepSessions: true });
  removeCurrentCluster();
  if (alive.length > 0) {
    out.write(`could not stop processes ${alive.join(', ')}\n`);
    return 1;
  }
  out.write(`stopped the tray node (GCS ${record.gcsAddress}; processes ${pids.join(', ')})\n`);
  return 0;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

async function waitGone(pids: number[], deadlineMs: number): Promise<number[]> {
  const until = Date.now() + deadlineMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    alive = alive.filter(isAlive);
  }
  return alive;
}

/** Daemons remove their own sockets; this catches the ones a SIGKILLed daemon left. */
function removeSockets(sessionDir: string): void {
  const dir = path.join(sessionDir, 'sockets');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) rmSync(path.join(dir, name), { force: true, recursive: true });
}
