// Scripts run to their end with what they printed, their exit code and the environment given
// (TypeScript through tsx); a script past its deadline is SIGKILLed and the run fails with its
// output; a driver's lines are read while it runs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { isAlive } from './processes.js';
import { resultOf, runScript, runSource, startDriver } from './scripts.js';
import { waitFor } from './wait.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-scripts-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, source: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, source);
  return file;
}

it('runs a script with env and args, in its own directory, and returns its output and exit code', async () => {
  const file = script(
    'exit3.mjs',
    `console.log(process.env.GREETING, process.argv[2], process.cwd());
     console.error('to stderr');
     process.exit(3);`,
  );
  const run = await runScript(file, { env: { GREETING: 'hello', HOME: undefined }, args: ['arg1'] });
  expect(run).toMatchObject({ code: 3, signal: null, stderr: 'to stderr\n' });
  expect(run.stdout).toBe(`hello arg1 ${dir}\n`);
});

it('removes the environment variables set to undefined', async () => {
  const run = await runSource('console.log(String(process.env.TRAY_TS_GONE))', {
    env: { TRAY_TS_GONE: undefined },
  });
  expect(run.stdout).toBe('undefined\n');
});

it('runs TypeScript through tsx', async () => {
  const file = script('typed.ts', 'const n: number = 6 * 7;\nconsole.log("answer", n);\n');
  expect((await runScript(file)).stdout).toBe('answer 42\n');
});

it('SIGKILLs a script past its deadline and fails with what it printed', async () => {
  const file = script('hang.mjs', "console.log('pid', process.pid); setInterval(() => {}, 1000);");
  const err = await runScript(file, { timeoutMs: 2000 }).catch((e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).message).toContain(`${file} did not finish within 2000 ms`);
  const pid = Number(/pid (\d+)/.exec((err as Error).message)?.[1]);
  expect(pid).toBeGreaterThan(0);
  await waitFor(() => !isAlive(pid), { what: 'the hung script to be killed' });
});

it("reads a driver's lines as it prints them, and how it ended", async () => {
  const driver = startDriver(
    `console.log('READY 1'); process.stdin; setTimeout(() => { console.log('DONE ok'); process.exit(5); }, 100);`,
  );
  expect(await driver.line('READY ')).toBe('1');
  expect(await driver.line('DONE ')).toBe('ok');
  const end = await driver.exited;
  expect(end.code).toBe(5);
  await expect(driver.line('NEVER ')).rejects.toThrow('the driver exited before printing "NEVER "');
});

it("reads a driver's RESULT line as JSON, and says what it printed when there is none", async () => {
  const run = await runSource(
    `console.log('noise'); console.log('RESULT ' + JSON.stringify({ ok: [1, 2] }));`,
  );
  expect(resultOf(run)).toEqual({ ok: [1, 2] });
  const none = await runSource(`console.error('it broke'); process.exit(2);`);
  expect(() => resultOf(none)).toThrow(/no RESULT line \(exit 2\)[\s\S]*stderr: it broke/);
});
