// Serve across drivers: an application deployed by one driver outlives it (the controller and
// replicas are detached actors), and another driver process that joins the cluster finds it by
// name with serve.getAppHandle, calls it, reads serve.status(), and then exits on its own (the
// handle's polling does not hold a driver open). Real child processes joined by address.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tray from '@tray/core';
import * as serve from '@tray/serve';
import { waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const children: number[] = [];
let dir: string;
let address: string;
let token: string;

beforeAll(async () => {
  await tray.init({ numCpus: 4, namespace: 'serve-drivers-test' });
  const where = tray.remote(() => [process.env.TRAY_GCS_ADDRESS, process.env.TRAY_SESSION_DIR]);
  const [gcs, sessionDir] = (await tray.get(where.remote())) as [string, string];
  address = gcs;
  token = readFileSync(path.join(sessionDir, 'token'), 'utf8');
  dir = mkdtempSync(path.join(import.meta.dirname, '.tmp-'));
});

afterAll(async () => {
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
  await serve.shutdown().catch(() => {});
  await tray.shutdown();
});

/** Runs a driver script joined to the cluster; resolves its stdout and exit code when it exits. */
function runDriver(body: string): Promise<{ out: string; code: number | null }> {
  const file = path.join(dir, `driver-${children.length}.mjs`);
  writeFileSync(
    file,
    `import * as tray from '@tray/core';\nimport * as serve from '@tray/serve';\n` +
      `await tray.init({ address: ${JSON.stringify(address)}, token: ${JSON.stringify(token)} });\n${body}\n`,
  );
  const child = spawn(process.execPath, [file], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child.pid!);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ out, code })));
}

describe('serve across drivers', () => {
  it('keeps an app after its driver exits, and serves it to another driver that exits on its own', async () => {
    const deployer = await runDriver(`
      const Shout = serve.deployment(class Shout {
        shout(s) { return s.toUpperCase() + '!'; }
      }, { actorOptions: { numCpus: 0 } });
      await serve.run(Shout.bind(), { name: 'shout', routePrefix: '/shout' });
      console.log('DEPLOYED');
    `);
    expect(deployer.code).toBe(0);
    expect(deployer.out).toContain('DEPLOYED');

    // The deploying driver is gone; the application still serves.
    expect(await serve.getDeploymentHandle('Shout', 'shout').shout.remote('still here')).toBe('STILL HERE!');

    const caller = await runDriver(`
      const handle = await serve.getAppHandle('shout');
      console.log('RESULT ' + (await handle.shout.remote('hello')));
      const status = await serve.status();
      console.log('STATUS ' + status.applications.shout.status);
    `);
    expect(caller.code).toBe(0);
    expect(caller.out).toContain('RESULT HELLO!');
    expect(caller.out).toContain('STATUS RUNNING');
    await waitFor(async () => (await serve.status()).applications.shout?.status === 'RUNNING', {
      what: 'the app to run after both drivers left',
    });
  });
});
