// The session root `<tmpdir>/tray` has a fixed name in a folder every user can write: a session
// is made there only when the directory is this user's alone (not a symlink, not someone else's,
// not writable by others), and a session's name keeps its creator's pid even when two are made
// in one second (the stale-file cleanup finds dead sessions by it).
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSession, recordSessionGcsAddress, sessionDirFor, sessionsRoot } from '../src/session.js';

let tmp: string;
const savedTmpdir = process.env.TMPDIR;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tray-session-'));
  process.env.TMPDIR = tmp;
});
afterEach(() => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  rmSync(tmp, { recursive: true, force: true });
});

it('makes sessions in a root of its own (mode 0700), named with the pid even in the same second', () => {
  const a = createSession();
  const b = createSession();
  expect(path.dirname(a.dir)).toBe(sessionsRoot());
  expect(path.basename(a.dir)).toMatch(new RegExp(`^session_[\\d_-]+_${process.pid}$`));
  expect(path.basename(b.dir)).toMatch(new RegExp(`_${process.pid}(_1)?$`));
  expect(b.dir).not.toBe(a.dir);
});

it('refuses a session root that is world-writable, a symlink, or another user’s', () => {
  const root = path.join(tmp, 'tray');
  mkdirSync(root);
  chmodSync(root, 0o777);
  expect(() => createSession()).toThrow(/refusing to use .*tray: it is writable by other users \(mode 777\)/);
  rmSync(root, { recursive: true });
  const elsewhere = path.join(tmp, 'elsewhere');
  mkdirSync(elsewhere, { mode: 0o700 });
  symlinkSync(elsewhere, root);
  expect(() => createSession()).toThrow(/refusing to use .*tray: it is a symbolic link/);
  rmSync(root);
  if (process.getuid?.() === 0) {
    mkdirSync(root, { mode: 0o700 });
    chownSync(root, 65534, 65534);
    expect(() => createSession()).toThrow(/tray: it belongs to uid 65534, not to you/);
  } else {
    // Not root: with TMPDIR=/ the root is /tray, which this user cannot make (EACCES) or is root’s.
    process.env.TMPDIR = '/';
    expect(() => createSession()).toThrow(/refusing to use \/tray|EACCES/);
  }
});

it("finds a session's token by its own GCS address only", () => {
  const a = createSession();
  recordSessionGcsAddress(a.dir, '127.0.0.1:7001');
  expect(sessionDirFor('127.0.0.1:7001')).toBe(a.dir);
  expect(sessionDirFor('10.0.0.9:7001')).toBeUndefined();
});
