// A daemon forked from its main script reports its addresses in its ready message; one that
// reports an error or exits during startup fails the start with the reason and its stderr, and
// leaves no process; stop and kill end it.
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { type Daemon, killDaemons, startDaemon } from './daemons.js';
import { childPids, commandLine, isAlive } from './processes.js';
import { waitFor } from './wait.js';

const MAIN = fileURLToPath(new URL('./fixtures/daemon.mjs', import.meta.url));
const daemons: Daemon[] = [];
afterEach(() => killDaemons(daemons.splice(0)));

it('starts a daemon with its options and returns its ready message', async () => {
  const daemon = await startDaemon<{ echo: string; pid: number }>(
    MAIN,
    { mode: 'ready', echo: 'hi' },
    { name: 'the fixture' },
  );
  daemons.push(daemon);
  expect(daemon.ready).toEqual({ echo: 'hi', pid: daemon.pid });
  expect(isAlive(daemon.pid)).toBe(true);
  await daemon.stop();
  expect(daemon.child.exitCode).toBe(0);
  expect(isAlive(daemon.pid)).toBe(false);
});

it('kill ends a daemon with SIGKILL', async () => {
  const daemon = await startDaemon(MAIN, { mode: 'ready' });
  daemons.push(daemon);
  await daemon.kill();
  expect(daemon.child.signalCode).toBe('SIGKILL');
});

it('fails the start with the error the daemon reported', async () => {
  await expect(startDaemon(MAIN, { mode: 'error' }, { name: 'the fixture' })).rejects.toThrow(
    'the fixture could not start: bad options on purpose',
  );
});

it('fails the start with the exit code and stderr of a daemon that exited', async () => {
  const err = await startDaemon(MAIN, { mode: 'crash' }, { name: 'the fixture' }).catch((e: Error) => e);
  expect((err as Error).message).toMatch(/the fixture exited during startup \(3\)/);
  expect((err as Error).message).toContain('crashing on purpose');
});

it('kills a daemon that is not ready by the startup deadline, and says so', async () => {
  const err = await startDaemon(
    MAIN,
    { mode: 'silent' },
    { name: 'the fixture', startupTimeoutMs: 1000 },
  ).catch((e: Error) => e);
  expect((err as Error).message).toBe('the fixture was not ready within 1000 ms');
  await waitFor(() => !childPids(process.pid).some((pid) => commandLine(pid).includes('daemon.mjs')), {
    what: 'the silent daemon to be killed',
  });
});
