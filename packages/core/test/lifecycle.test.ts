// Starting and stopping: init/shutdown leave no process behind, a SIGKILLed driver leaves no
// process and no shared-memory file behind, worker output reaches the driver with Ray's prefix
// (and can be turned off), a driver script ends without shutdown(), and the README quickstart.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { descendants, isAlive, runScript, waitFor } from '@tray/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { PACKAGE_DIR, writeDriverScript } from './helpers.js';

const scripts: string[] = [];
afterAll(() => {
  for (const s of scripts) rmSync(path.dirname(s), { recursive: true, force: true });
});

function script(source: string): string {
  const file = writeDriverScript(source);
  scripts.push(file);
  return file;
}

describe('init and shutdown', () => {
  it('starts a cluster and stops every process it started', async () => {
    expect(tray.isInitialized()).toBe(false);
    await tray.init({
      numCpus: 1,
      objectStoreMemory: 100 * 1024 * 1024,
      runtimeEnv: { envVars: { JOB_VAR: 'job', SHARED: 'job' } },
    });
    expect(tray.isInitialized()).toBe(true);
    // The job's runtime env reaches every task; a task's own env vars are merged over it.
    const env = tray.remote(() => `${process.env.JOB_VAR}/${process.env.SHARED}`);
    expect(await tray.get(env.remote())).toBe('job/job');
    const own = env.options({ runtimeEnv: { envVars: { SHARED: 'task' } } });
    expect(await tray.get(own.remote())).toBe('job/task');
    await expect(tray.init()).rejects.toThrow(/already initialized/);
    const square = tray.remote((x: number) => x * x);
    expect(await tray.get(square.remote(5))).toBe(25);
    const resources = await tray.clusterResources();
    expect(resources.CPU).toBe(1);
    // A value larger than the node's store says so (and how to fix it).
    await expect(tray.put(new Uint8Array(150 * 1024 * 1024))).rejects.toThrow(tray.ObjectStoreFullError);
    await expect(tray.put(new Uint8Array(150 * 1024 * 1024))).rejects.toThrow(/larger objectStoreMemory/);
    const nodes = await tray.nodes();
    expect(nodes).toHaveLength(1);
    expect(nodes[0]!.alive).toBe(true);
    const ctx = tray.getRuntimeContext();
    expect(ctx.jobId).toMatch(/^[0-9a-f]{8}$/);
    const started = descendants(process.pid).filter((p) => p !== process.pid);
    expect(started.length).toBeGreaterThanOrEqual(3); // gcs, raylet, a worker
    const never = tray.remote(() => new Promise(() => {})).remote();
    const pending = tray.get(never).catch((e: Error) => e);
    await tray.shutdown();
    const error = await pending;
    expect(error).toBeInstanceOf(tray.TrayError);
    expect((error as Error).message).toMatch(/shut down before the task finished/);
    await tray.shutdown(); // idempotent
    expect(tray.isInitialized()).toBe(false);
    await waitFor(() => started.every((p) => !isAlive(p)), { what: 'the cluster processes to exit' });
    expect(() => square.remote(1)).toThrow(/not initialized/);
  });

  it('leaves no process and no shared-memory file behind when the driver is SIGKILLed', async () => {
    const file = script(`
      import * as tray from '@tray/core';
      await tray.init({ numCpus: 2 });
      const f = tray.remote((x) => x + 1);
      await tray.get([f.remote(1), f.remote(2)]);
      console.log('READY');
      setInterval(() => {}, 1000);
    `);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [file], {
      cwd: path.dirname(file),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await waitFor(() => out.includes('READY'), {
      what: 'the driver to start its cluster',
      timeoutMs: 40_000,
    });
    const tree = descendants(child.pid!);
    expect(tree.length).toBeGreaterThanOrEqual(3);
    const segmentsBefore = readdirSync('/dev/shm').filter((f) =>
      tree.some((p) => f.startsWith(`tray-store-${p}-`)),
    );
    child.kill('SIGKILL');
    await waitFor(() => tree.every((p) => !isAlive(p)), {
      what: 'gcs, raylet and workers to exit',
      timeoutMs: 20_000,
    });
    const left = readdirSync('/dev/shm').filter((f) => tree.some((p) => f.startsWith(`tray-store-${p}-`)));
    expect(left).toEqual([]);
    expect(segmentsBefore.every((f) => !existsSync(path.join('/dev/shm', f)))).toBe(true);
  });
});

describe('joining a running cluster', () => {
  it('attaches a driver with init({ address }) and leaves the cluster running at shutdown', async () => {
    const file = script(`
      import * as tray from '@tray/core';
      import { createInterface } from 'node:readline';
      await tray.init({ numCpus: 1 });
      const where = tray.remote(() => [process.env.TRAY_GCS_ADDRESS, process.env.TRAY_SESSION_DIR]);
      const [address, sessionDir] = await tray.get(where.remote());
      console.log(JSON.stringify({ address, sessionDir }));
      const lines = createInterface({ input: process.stdin });
      for await (const line of lines) {
        if (line === 'check') {
          const f = tray.remote((x) => x * 3);
          console.log('STILL ' + (await tray.get(f.remote(5))));
          break;
        }
      }
      await tray.shutdown();
    `);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [file], {
      cwd: path.dirname(file),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      const first = await waitFor(() => out.split('\n').find((l) => l.startsWith('{')), {
        what: 'the head driver',
        timeoutMs: 40_000,
      });
      const { address, sessionDir } = JSON.parse(first) as { address: string; sessionDir: string };
      const token = readFileSync(path.join(sessionDir, 'token'), 'utf8');
      await tray.init({ address, token });
      const double = tray.remote((x: number) => x * 2);
      expect(await tray.get(double.remote(21))).toBe(42);
      expect(await tray.nodes()).toHaveLength(1);
      await tray.shutdown();
      // Without a token: TRAY_ADDRESS and the session directory's token file.
      process.env.TRAY_ADDRESS = address;
      process.env.TRAY_SESSION_DIR = sessionDir;
      try {
        await tray.init();
        expect(await tray.get(double.remote(4))).toBe(8);
        await tray.shutdown();
      } finally {
        delete process.env.TRAY_ADDRESS;
        delete process.env.TRAY_SESSION_DIR;
      }
      await expect(tray.init({ address, token: 'wrong' })).rejects.toThrow();
      expect(tray.isInitialized()).toBe(false);
      child.stdin.write('check\n');
      await waitFor(() => out.includes('STILL 15'), {
        what: 'the head driver to run a task after the joiners left',
      });
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('driver scripts', () => {
  it('works from CommonJS with the same names as the ES module', async () => {
    const file = script(`
      const tray = require('@tray/core');
      (async () => {
        const esm = await import('@tray/core');
        console.log('SAME ' + (JSON.stringify(Object.keys(tray).sort()) === JSON.stringify(Object.keys(esm).sort())));
        await tray.init({ numCpus: 1 });
        const square = tray.remote((x) => x * x);
        console.log('RESULT ' + JSON.stringify(await tray.get([square.remote(2), square.remote(3)])));
        await tray.shutdown();
      })();
    `);
    const cjs = file.replace(/driver\.mjs$/, 'driver.cjs');
    (await import('node:fs')).renameSync(file, cjs);
    const result = await runScript(cjs);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('SAME true');
    expect(result.stdout).toContain('RESULT [4,9]');
  });

  it('runs the README quickstart', async () => {
    const quickstart = path.resolve(PACKAGE_DIR, '../../examples/quickstart.mjs');
    const result = await runScript(quickstart);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('[ 0, 1, 4, 9 ]');
    expect(result.code).toBe(0);
  });

  it("prints workers' output on the driver with the worker prefix, and ends without shutdown()", async () => {
    const file = script(`
      import * as tray from '@tray/core';
      // Watch this process's own output for the forwarded lines (they travel asynchronously).
      let seen = '';
      const arrived = new Promise((resolve) => {
        for (const stream of [process.stdout, process.stderr]) {
          const write = stream.write.bind(stream);
          stream.write = (chunk, ...rest) => {
            seen += String(chunk);
            if (seen.includes('hello world') && seen.includes('oops world')) resolve();
            return write(chunk, ...rest);
          };
        }
      });
      await tray.init({ numCpus: 1 });
      const shout = tray.remote(function shout(word) {
        console.log('hello ' + word);
        console.error('oops ' + word);
        return process.pid;
      });
      const pid = await tray.get(shout.remote('world'));
      console.log('PID ' + pid);
      const deadline = setTimeout(() => { console.log('TIMEOUT'); process.exit(2); }, 20000);
      await arrived;
      clearTimeout(deadline);
    `);
    const result = await runScript(file);
    expect(result.code).toBe(0);
    const pid = /PID (\d+)/.exec(result.stdout)?.[1];
    expect(pid).toBeDefined();
    expect(result.stdout).toContain(`(shout pid=${pid}) hello world`);
    expect(result.stderr).toContain(`(shout pid=${pid}) oops world`);
  });

  it('keeps workers quiet with logToDriver: false (the line still reaches the worker log file)', async () => {
    const file = script(`
      import { existsSync, readFileSync } from 'node:fs';
      import * as tray from '@tray/core';
      await tray.init({ numCpus: 1, logToDriver: false });
      const shout = tray.remote(function shout() {
        console.log('should not appear');
        return [process.pid, process.env.TRAY_SESSION_DIR];
      });
      const [pid, sessionDir] = await tray.get(shout.remote());
      const log = sessionDir + '/logs/worker-' + pid + '.out';
      const deadline = Date.now() + 20000;
      while (!(existsSync(log) && readFileSync(log, 'utf8').includes('should not appear'))) {
        if (Date.now() > deadline) { console.log('TIMEOUT'); process.exit(2); }
        await new Promise((r) => setTimeout(r, 50));
      }
      console.log('LOGGED');
      await tray.shutdown();
    `);
    const result = await runScript(file);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('LOGGED');
    expect(result.stdout).not.toContain('should not appear');
  });
});
