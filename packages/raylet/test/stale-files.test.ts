// What dead processes left is removed by the pid in its name, and only that: store segments and
// collective groups' shared regions (a tray-coll-* file still has its name when every member of
// the group died between rank 0 making it and the others mapping it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { removeStaleFiles } from '../src/session.js';

let tmp: string;
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

it("removes dead processes' store segments and collective regions, in /dev/shm's stand-in and the fallback", async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tray-stale-'));
  const shmDir = path.join(tmp, 'shm');
  const fallback = path.join(tmp, 'tray-store');
  mkdirSync(shmDir);
  mkdirSync(fallback);
  const dead = deadPid();
  const key = '0123456789abcdef01234567';
  const stale = [
    path.join(shmDir, `tray-store-${dead}-0`),
    path.join(shmDir, `tray-coll-${dead}-${key}-1`),
    path.join(fallback, `tray-coll-${dead}-${key}-3`),
  ];
  const kept = [
    path.join(shmDir, `tray-coll-${process.pid}-${key}-1`), // its maker still runs
    path.join(shmDir, `tray-coll-${dead}-not-hex-1`), // not a region's name
    path.join(shmDir, `tray-collective-${dead}`),
  ];
  for (const f of [...stale, ...kept]) writeFileSync(f, '');
  const removed = await removeStaleFiles({ shmDir, tmpDir: tmp, keepSessions: true });
  expect(removed.segments.sort()).toEqual([...stale].sort());
  for (const f of stale) expect(existsSync(f), f).toBe(false);
  for (const f of kept) expect(existsSync(f), f).toBe(true);
});
