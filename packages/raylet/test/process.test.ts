import { type ChildProcess, fork, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, NodeManagerService } from '@tray/protocol';
import { isAlive, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_WORKER, makeSessionDir, TOKEN } from './harness.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const INTERMEDIATE = fileURLToPath(new URL('./fixtures/intermediate.mjs', import.meta.url));

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanups.splice(0)) fn();
});

function options(sessionDir: string) {
  return {
    token: TOKEN,
    sessionDir,
    workerEntry: FIXTURE_WORKER,
    numCpus: 2,
    objectStoreMemory: 16 * 1024 * 1024,
  };
}

async function workerPidsOf(socketPath: string): Promise<number[]> {
  const c = await connect(socketPath, { token: TOKEN });
  try {
    return await waitFor(
      async () => {
        const s = await c.request(NodeManagerService.GetNodeStats, {});
        return s.workers.length === 2 ? s.workers.map((w) => w.pid as number) : undefined;
      },
      { what: 'both prestarted workers to register' },
    );
  } finally {
    c.close();
  }
}

function killOnCleanup(child: ChildProcess) {
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

describe('@tray/raylet/main', () => {
  it('reports ready, and leaves no process or socket behind when its parent is SIGKILLed', async () => {
    const sessionDir = makeSessionDir();
    cleanups.push(() => rmSync(sessionDir, { recursive: true, force: true }));
    const parent = spawn(process.execPath, [INTERMEDIATE, MAIN, JSON.stringify(options(sessionDir))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    killOnCleanup(parent);
    const lines = createInterface({ input: parent.stdout! });
    const ready = await new Promise<any>((resolve) => lines.once('line', (l) => resolve(JSON.parse(l))));
    expect(ready).toMatchObject({ type: 'ready', nodeId: expect.stringMatching(/^[0-9a-f]{56}$/) });
    expect(ready.socketPath).toBe(`${sessionDir}/sockets/raylet`);
    expect(ready.storeSocketPath).toBe(`${sessionDir}/sockets/store`);
    expect(ready.grpcPort).toBeGreaterThan(0);
    cleanups.push(() => {
      if (isAlive(ready.rayletPid)) process.kill(ready.rayletPid, 'SIGKILL');
    });
    expect(existsSync(ready.storeSocketPath)).toBe(true);
    const pids = await workerPidsOf(ready.socketPath);
    parent.kill('SIGKILL');
    await waitFor(() => [ready.rayletPid, ...pids].every((p) => !isAlive(p)), {
      what: 'the raylet and its workers to exit',
    });
    await waitFor(() => !existsSync(ready.socketPath) && !existsSync(ready.storeSocketPath), {
      what: 'the sockets to be removed',
    });
  });

  it('stops with its workers on SIGTERM', async () => {
    const sessionDir = makeSessionDir();
    cleanups.push(() => rmSync(sessionDir, { recursive: true, force: true }));
    const child = fork(MAIN, [], {
      env: { ...process.env, TRAY_DAEMON_OPTIONS: JSON.stringify(options(sessionDir)) },
    });
    killOnCleanup(child);
    const ready = await new Promise<any>((resolve) => child.once('message', resolve));
    const pids = await workerPidsOf(ready.socketPath);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await waitFor(() => pids.every((p) => !isAlive(p)), { what: 'its workers to exit' });
  });

  it('says what is wrong with its options and exits 1', async () => {
    const child = fork(MAIN, [], {
      env: { ...process.env, TRAY_DAEMON_OPTIONS: JSON.stringify({ token: '' }) },
    });
    killOnCleanup(child);
    const message = await new Promise<any>((resolve) => child.once('message', resolve));
    expect(message).toEqual({ type: 'error', message: expect.stringMatching(/token/) });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
  });
});
