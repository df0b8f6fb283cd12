// Runs a driver file as a child process (node, or tsx for TypeScript) and returns what it
// printed, with a deadline: a driver that hangs fails the test instead of the run.
import { spawn } from 'node:child_process';
import path from 'node:path';

export interface DriverRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export function runDriver(file: string, timeoutMs = 60_000): Promise<DriverRun> {
  const args = file.endsWith('.ts')
    ? [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), file]
    : [file];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: path.dirname(file),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${file} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON a fixture prints on its `RESULT ` line. */
export function resultOf(run: DriverRun): unknown {
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line)
    throw new Error(`no RESULT line (exit ${run.code})\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(line.slice('RESULT '.length));
}
