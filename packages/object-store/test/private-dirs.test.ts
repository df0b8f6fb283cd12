// The store's directories under the shared tmp folder (the segment's disk fallback, the spill
// directory) are used only when they are this user's alone, and spill files are never opened
// through a symlink: another user who made the directory first, or planted a link, could read
// or overwrite what the store writes.
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { StoreClient, StoreServer } from '../src/index.js';

const MiB = 1024 * 1024;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-private-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A directory that belongs to another user: one we chown away when root, else a system one. */
function foreignDir(base: string): string {
  if (process.getuid?.() === 0) {
    const dir = path.join(base, 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    return dir;
  }
  return '/usr'; // root's, and not writable by this user
}

function start(dir: string, options: Partial<Parameters<typeof StoreServer.start>[0]>) {
  return StoreServer.start({ socketPath: path.join(dir, 's.sock'), capacity: 8 * MiB, ...options });
}

it('refuses a disk-fallback directory that is world-writable, a symlink, or another user’s', async () => {
  const dir = tempDir();
  const open = path.join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  await expect(start(dir, { forceFallback: true, fallbackDir: open })).rejects.toThrow(
    /refusing to use .*open: it is writable by other users/,
  );
  const link = path.join(dir, 'link');
  const target = path.join(dir, 'target');
  mkdirSync(target, { mode: 0o700 });
  symlinkSync(target, link);
  await expect(start(dir, { forceFallback: true, fallbackDir: link })).rejects.toThrow(
    /refusing to use .*link: it is a symbolic link/,
  );
  const theirs = foreignDir(dir);
  await expect(start(dir, { forceFallback: true, fallbackDir: theirs })).rejects.toThrow(
    /refusing to use .*: it belongs to uid \d+, not to this user/,
  );
  // A directory of this user's own is used.
  const mine = path.join(dir, 'mine');
  const server = await start(dir, { forceFallback: true, fallbackDir: mine });
  cleanups.push(() => server.close());
  expect(path.dirname(server.segmentPath)).toBe(mine);
});

/** Fill an 8 MiB store with 1 MiB primaries until a put fails; returns that failure. */
async function fillUntilFailure(client: StoreClient): Promise<Error | undefined> {
  for (let n = 0; n < 40; n++) {
    const id = Buffer.alloc(28);
    id.writeUInt32BE(n + 1, 24);
    try {
      await client.put(id, Buffer.alloc(MiB - 4096, n));
    } catch (err) {
      return err as Error;
    }
  }
  return undefined;
}

it('does not spill into a spill directory another user could write, and says why', async () => {
  const dir = tempDir();
  const spillDir = path.join(dir, 'spill');
  mkdirSync(spillDir);
  chmodSync(spillDir, 0o777);
  const server = await start(dir, { spillDir, spillMinBatch: MiB });
  cleanups.push(() => server.close());
  const client = await StoreClient.connect(server.socketPath);
  cleanups.push(() => client.close());
  const failure = await fillUntilFailure(client);
  expect(failure?.message).toMatch(/refusing to use .*spill: it is writable by other users/);
  expect((await server.stats()).spilledObjects).toBe(0);
});

it('never writes a spill file through a symlink planted at its name, and goes on spilling', async () => {
  const dir = tempDir();
  const spillDir = path.join(dir, 'spill');
  mkdirSync(spillDir, { mode: 0o700 });
  const victim = path.join(dir, 'victim');
  writeFileSync(victim, 'precious');
  // The store names its first spill file spill-<pid>-1 (the store runs in this process here).
  symlinkSync(victim, path.join(spillDir, `spill-${process.pid}-1`));
  const server = await start(dir, { spillDir, spillMinBatch: MiB });
  cleanups.push(() => server.close());
  const client = await StoreClient.connect(server.socketPath);
  cleanups.push(() => client.close());
  // The planted name is skipped (opened with O_NOFOLLOW it fails; the spill takes the next one).
  expect(await fillUntilFailure(client)).toBeUndefined();
  expect((await server.stats()).spilledObjects).toBeGreaterThan(0);
  expect(readFileSync(victim, 'utf8')).toBe('precious');
  expect(lstatSync(path.join(spillDir, `spill-${process.pid}-1`)).isSymbolicLink()).toBe(true);
});
