// Store segments are found and removed by the pid in their names, and only theirs.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { removeStoreSegments, storeSegments } from './shm.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it("lists and removes the segments of the given pids, leaving others' alone", () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tray-shm-test-'));
  for (const name of ['tray-store-123-0', 'tray-store-123-1', 'tray-store-1234-0', 'other-123-0']) {
    writeFileSync(path.join(dir, name), '');
  }
  expect(storeSegments(123, dir).sort()).toEqual([
    path.join(dir, 'tray-store-123-0'),
    path.join(dir, 'tray-store-123-1'),
  ]);
  expect(removeStoreSegments([123], dir)).toHaveLength(2);
  expect(storeSegments(123, dir)).toEqual([]);
  expect(existsSync(path.join(dir, 'tray-store-1234-0'))).toBe(true);
  expect(existsSync(path.join(dir, 'other-123-0'))).toBe(true);
});
