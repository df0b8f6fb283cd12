// Processes by pid, on real processes: a child that starts a grandchild is found as child and
// descendant with its command line and memory, both are alive, killAndWait ends both; a child
// is found by a variable of its environment; bad pids are refused.
import { spawn } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import {
  childPids,
  childPidsMatching,
  commandLine,
  descendants,
  isAlive,
  killAndWait,
  processesWithEnv,
  rssBytes,
} from './processes.js';
import { waitFor } from './wait.js';

const started: number[] = [];
afterEach(() => killAndWait(started.splice(0)));

/** A node process marked `marker` that starts a grandchild and prints its pid. */
function parentWithGrandchild(marker: string) {
  const source = `
    const { spawn } = require('node:child_process');
    const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'grandchild'], { stdio: 'ignore' });
    console.log(g.pid);
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', source, marker], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child.pid!);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return {
    pid: child.pid!,
    grandchild: () =>
      waitFor(() => (out.includes('\n') ? Number(out.trim()) : 0), { what: 'the grandchild pid' }),
  };
}

it('finds children, descendants, command lines and memory, and kills them all', async () => {
  const parent = parentWithGrandchild('marker-7f3a');
  const grandchild = await parent.grandchild();
  started.push(grandchild);
  expect(childPids(process.pid)).toContain(parent.pid);
  expect(childPidsMatching(process.pid, /marker-7f3a/)).toEqual([parent.pid]);
  expect(commandLine(parent.pid)).toContain('marker-7f3a');
  await waitFor(() => descendants(process.pid).includes(grandchild), { what: 'the grandchild to be listed' });
  expect(descendants(parent.pid)).toEqual([grandchild]);
  expect(rssBytes(parent.pid)).toBeGreaterThan(0);
  expect(isAlive(parent.pid) && isAlive(grandchild)).toBe(true);

  await killAndWait([parent.pid, grandchild]);
  expect(isAlive(parent.pid)).toBe(false);
  expect(isAlive(grandchild)).toBe(false);
  expect(commandLine(parent.pid)).toBe('');
  await killAndWait(parent.pid); // already gone: nothing to do
});

it('finds the processes whose environment has a variable set to a value', async () => {
  const mark = `tray-test-${process.pid}-${Date.now()}`;
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
    env: { ...process.env, TRAY_TEST_MARK: mark },
    stdio: 'ignore',
  });
  started.push(child.pid!);
  await waitFor(() => processesWithEnv('TRAY_TEST_MARK', mark).includes(child.pid!), {
    what: 'the marked child',
  });
  expect(processesWithEnv('TRAY_TEST_MARK', mark)).toEqual([child.pid]);
  await killAndWait(child.pid!);
  expect(processesWithEnv('TRAY_TEST_MARK', mark)).toEqual([]);
});

it('refuses a pid that is not a positive integer', () => {
  expect(() => isAlive(0)).toThrow('isAlive: pid must be a positive integer, got 0');
  expect(() => isAlive(Number.NaN)).toThrow(/positive integer/);
});
