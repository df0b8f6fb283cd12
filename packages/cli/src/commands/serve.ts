// `tray serve ...`: Ray Serve's CLI, which lives in @tray/serve (its ./cli process entry). Found
// at run time with require.resolve only when @tray/serve is installed (tools/graph-check.mjs's
// LAUNCHES: cli launches serve, never imports it), and run as a child process with the rest of
// the command line; the cluster (--address, else TRAY_ADDRESS, else the node `tray start` left
// here) and its token (TRAY_TOKEN, else that node's token file) go to it in its environment.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readCurrentCluster } from '../cluster/current-cluster.js';

/** @tray/serve's CLI script, or undefined when the package is not installed. */
export function serveCliEntry(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('@tray/serve/cli');
  } catch {
    return undefined;
  }
}

function addressFlag(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--address' || a === '-a') return argv[i + 1];
    if (a.startsWith('--address=')) return a.slice('--address='.length);
  }
  return undefined;
}

export async function serve(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const entry = serveCliEntry();
  if (entry === undefined) {
    throw new Error('tray serve needs the @tray/serve package: npm install @tray/serve');
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  const wantsCluster =
    argv[0] !== 'build' && argv[0] !== undefined && !argv.includes('--help') && !argv.includes('-h');
  if (wantsCluster) {
    const current = readCurrentCluster();
    const address = addressFlag(argv) ?? process.env.TRAY_ADDRESS ?? current?.gcsAddress;
    if (address !== undefined) env.TRAY_ADDRESS = address;
    if (
      !env.TRAY_TOKEN &&
      current !== undefined &&
      (address === undefined || address === current.gcsAddress)
    ) {
      try {
        env.TRAY_TOKEN = readFileSync(current.tokenFile, 'utf8').trim();
      } catch (err) {
        throw new Error(`cannot read the token file ${current.tokenFile}: ${(err as Error).message}`);
      }
    }
  }
  const child = spawn(process.execPath, [entry, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk) => out.write(chunk));
  child.stderr.on('data', (chunk) => process.stderr.write(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
