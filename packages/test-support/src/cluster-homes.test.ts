// ClusterHomes on real processes: cleanUp SIGKILLs the pids a test started, then calls the
// caller's removeLeftovers for each directory (with the processes already gone), then removes
// the directories; a second cleanUp has nothing left to do.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ClusterHomes } from './cluster-homes.js';
import { isAlive, killAndWait } from './processes.js';

const spawned: number[] = [];
afterEach(() => killAndWait(spawned.splice(0)));

it('kills the started pids, then removes leftovers and the directories', async () => {
  const seen: Array<{ dir: string; alive: boolean; hadFile: boolean }> = [];
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  spawned.push(child.pid!);
  const homes = new ClusterHomes({
    prefix: 'tray-homes-test-',
    removeLeftovers: (dir) =>
      seen.push({ dir, alive: isAlive(child.pid!), hadFile: existsSync(path.join(dir, 'left')) }),
  });
  const dir = homes.tempDir();
  expect(path.basename(dir)).toMatch(/^tray-homes-test-/);
  writeFileSync(path.join(dir, 'left'), 'x');
  homes.started.push(child.pid!);
  expect(isAlive(child.pid!)).toBe(true);

  await homes.cleanUp();
  expect(isAlive(child.pid!)).toBe(false);
  expect(seen).toEqual([{ dir, alive: false, hadFile: true }]);
  expect(existsSync(dir)).toBe(false);
  expect(homes.started).toEqual([]);
  await homes.cleanUp();
  expect(seen).toHaveLength(1);
});
