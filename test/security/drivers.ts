// Drivers for the security tests: an ES module source run with `node -e` in its own process
// (@tray/test-support's startDriver, resolving @tray/* from this test package), with a private
// TMPDIR so its sessions never touch the machine's own; lines it prints are read as they come.
// Every driver and the processes it started are SIGKILLed after the test (by pid).
import path from 'node:path';
import { type Driver, killAndWait, startDriver as start } from '@tray/test-support';

const pids = new Set<number>();

/** `env` is added to this process's environment; a key set to undefined is removed from it. */
export function startDriver(source: string, env: NodeJS.ProcessEnv): Driver {
  const driver = start(source, { cwd: path.resolve(import.meta.dirname, '..'), env });
  pids.add(driver.pid);
  return driver;
}

/** Kill this pid too when the test ends (a daemon a driver started). */
export function killLater(pid: number): void {
  pids.add(pid);
}

/** For afterEach: SIGKILL every driver and recorded daemon, and wait until they are gone. */
export async function killDrivers(): Promise<void> {
  const all = [...pids];
  pids.clear();
  await killAndWait(all, { timeoutMs: 10_000 });
}
