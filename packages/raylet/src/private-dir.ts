// Directories under the shared tmp folder with fixed names (`<tmpdir>/tray`, where sessions and
// current_cluster.json live) must be this user's own: another user who made `/tmp/tray` first
// could read the tokens written there, swap sockets, or plant a session. `privateDir` makes the
// directory (mode 0700) or accepts an existing one only if it is a real directory (not a
// symlink) owned by this user and writable by nobody else.
import { lstatSync, mkdirSync } from 'node:fs';

/** Make `dir` (mode 0700), or check that the existing one is this user's alone; returns `dir`. */
export function privateDir(dir: string): string {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const why = privateDirProblem(dir);
  if (why !== undefined) {
    throw new Error(
      `refusing to use ${dir}: ${why}. Someone else may have made it to read or replace tray's files; ` +
        'remove it (or set TMPDIR to a directory of your own) and try again',
    );
  }
  return dir;
}

/** Why `dir` is not a directory of this user's alone, or undefined when it is. */
export function privateDirProblem(dir: string): string | undefined {
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink()) return 'it is a symbolic link';
  if (!stat.isDirectory()) return 'it is not a directory';
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return `it belongs to uid ${stat.uid}, not to you (uid ${uid})`;
  if ((stat.mode & 0o022) !== 0) {
    return `it is writable by other users (mode ${(stat.mode & 0o777).toString(8)})`;
  }
  return undefined;
}
