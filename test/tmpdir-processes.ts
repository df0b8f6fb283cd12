// The processes a test's `tray start` clusters left under their private TMPDIRs: `tray start`
// passes its environment down, so every daemon and worker it started carries TMPDIR=<dir>. After
// each test, SIGTERM them, wait up to 15 s, SIGKILL what is left, and remove the directories.
import { readdirSync, readFileSync, rmSync } from 'node:fs';

/** Every live (not zombie) process started under this TMPDIR. */
export function processesOf(tmpdir: string): number[] {
  const needle = `TMPDIR=${tmpdir}\0`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (env.includes(needle) && !/\) Z /.test(stat)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return found;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** For afterEach: stops every process under `dirs`, then empties `dirs` and removes them. */
export async function stopProcessesUnder(dirs: string[]): Promise<void> {
  for (const dir of dirs) for (const pid of processesOf(dir)) kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (dirs.some((d) => processesOf(d).length > 0) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  for (const dir of dirs) for (const pid of processesOf(dir)) kill(pid, 'SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
