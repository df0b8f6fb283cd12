// A package's command as npm links it, for tests that run one: the file the package's
// package.json names under "bin", found through the package (resolved from the test's own
// location, as `npx` would find it), never by a path into packages/*/dist; and `runCli`, such a
// command run as a user runs it: a real child process with a private TMPDIR (so the cluster
// files it writes stay the test's) and without the machine's own cluster settings
// (TRAY_ADDRESS, TRAY_TOKEN). Used by the CLI's tests and test/ (chaos, security, multinode).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { runScript } from './scripts.js';

/**
 * The absolute path of `packageName`'s bin `name` (default: its only one), resolved from `from`
 * (the calling test's `import.meta.url`) through its package.json.
 */
export function packageBin(packageName: string, from: string | URL, name?: string): string {
  let manifestPath: string;
  try {
    manifestPath = createRequire(from).resolve(`${packageName}/package.json`);
  } catch (err) {
    throw new Error(
      `cannot find ${packageName}/package.json from ${String(from)} (is ${packageName} installed, ` +
        `and does it export "./package.json"?): ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name?: string; bin?: unknown };
  const bins: Record<string, unknown> =
    typeof manifest.bin === 'string'
      ? { [(manifest.name ?? packageName).replace(/^@[^/]+\//, '')]: manifest.bin }
      : manifest.bin && typeof manifest.bin === 'object'
        ? (manifest.bin as Record<string, unknown>)
        : {};
  const names = Object.keys(bins);
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  const file = chosen === undefined ? undefined : bins[chosen];
  if (typeof file !== 'string') {
    const has = names.length === 0 ? 'names no bin' : `names the bins ${names.join(', ')}`;
    throw new Error(
      `${manifestPath} ${has}; ` +
        (name === undefined ? 'pass the one you mean' : `not one called '${name}'`),
    );
  }
  return path.resolve(path.dirname(manifestPath), file);
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `bin` with `args` (from this process's cwd) with TMPDIR `tmpdir` and `extraEnv`, without
 * TRAY_ADDRESS / TRAY_TOKEN from this process's environment; SIGKILLed after `timeoutMs`.
 */
export async function runCli(
  bin: string,
  args: string[],
  tmpdir: string,
  timeoutMs = 120_000,
  extraEnv: Record<string, string> = {},
): Promise<CliRun> {
  const run = await runScript(bin, {
    args,
    cwd: process.cwd(),
    env: { TRAY_ADDRESS: undefined, TRAY_TOKEN: undefined, ...extraEnv, TMPDIR: tmpdir },
    timeoutMs,
  });
  return { code: run.code ?? 1, stdout: run.stdout, stderr: run.stderr };
}
