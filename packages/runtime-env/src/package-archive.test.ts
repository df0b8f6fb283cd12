import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { packDirectory, packFile, unpackArchive } from './package-archive.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'tray-pack-test-'));
  dirs.push(d);
  return d;
}
function tree(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

describe('packDirectory', () => {
  it('leaves out .trayignore patterns, excludes and .git; unpacks the rest with modes', () => {
    const src = tmp();
    mkdirSync(path.join(src, 'a', 'b'), { recursive: true });
    mkdirSync(path.join(src, '.git'));
    mkdirSync(path.join(src, 'build'));
    writeFileSync(path.join(src, 'a', 'b', 'keep.js'), 'keep');
    writeFileSync(path.join(src, 'a', 'x.tmp'), 'tmp');
    writeFileSync(path.join(src, 'run.sh'), '#!/bin/sh\n');
    writeFileSync(path.join(src, '.git', 'HEAD'), 'ref');
    writeFileSync(path.join(src, 'build', 'out'), 'out');
    writeFileSync(path.join(src, 'secret.env'), 's');
    writeFileSync(path.join(src, '.trayignore'), '# comment\n*.tmp\n/build/\n');
    chmodSync(path.join(src, 'run.sh'), 0o755);
    const packed = packDirectory(src, { excludes: ['secret.env'] });
    expect(packed.files).toBe(3);
    const dest = path.join(tmp(), 'out');
    unpackArchive(packed.archive, dest);
    expect(tree(dest)).toEqual(['.trayignore', 'a/b/keep.js', 'run.sh']);
    expect(statSync(path.join(dest, 'run.sh')).mode & 0o777).toBe(0o755);
    expect(readFileSync(path.join(dest, 'a', 'b', 'keep.js'), 'utf8')).toBe('keep');
  });

  it('names a package by its content: same files, same hash; one byte changed, another', () => {
    const one = tmp();
    const two = tmp();
    for (const d of [one, two]) writeFileSync(path.join(d, 'f.txt'), 'same');
    expect(packDirectory(one).hash).toBe(packDirectory(two).hash);
    writeFileSync(path.join(two, 'f.txt'), 'samE');
    expect(packDirectory(one).hash).not.toBe(packDirectory(two).hash);
    expect(packDirectory(one).hash).toMatch(/^[0-9a-f]{40}$/);
  });

  it('over the limit: says the size, the limit and the biggest files', () => {
    const src = tmp();
    writeFileSync(path.join(src, 'big.bin'), Buffer.alloc(3 * 1024 * 1024));
    writeFileSync(path.join(src, 'medium.bin'), Buffer.alloc(1024 * 1024));
    writeFileSync(path.join(src, 'small.txt'), 'x');
    expect(() => packDirectory(src, { maxBytes: 2 * 1024 * 1024 })).toThrow(
      /is 4\.00 MiB, over the 2\.00 MiB limit of a package; the biggest files: big\.bin \(3\.00 MiB\), medium\.bin \(1\.00 MiB\), small\.txt/,
    );
    expect(() => packDirectory(path.join(src, 'nope'))).toThrow(/does not exist/);
    expect(() => packDirectory(path.join(src, 'small.txt'))).toThrow(/is not a directory/);
  });

  it('unpacking refuses a path that leaves the destination, and garbage', () => {
    const files = [{ path: '../escape.txt', mode: 0o644, size: 2 }];
    const header = Buffer.from(JSON.stringify(files));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(header.length);
    const evil = gzipSync(Buffer.concat([len, header, Buffer.from('hi')]));
    const dest = path.join(tmp(), 'out');
    expect(() => unpackArchive(evil, dest)).toThrow(/leaves the package/);
    expect(() => unpackArchive(gzipSync(Buffer.from([0, 0, 0, 99])), dest)).toThrow(/truncated header/);
  });

  it('packFile holds one file under its name', () => {
    const d = tmp();
    writeFileSync(path.join(d, 'lib-1.0.0.tgz'), 'tarball bytes');
    const dest = path.join(tmp(), 'out');
    unpackArchive(packFile(path.join(d, 'lib-1.0.0.tgz')).archive, dest);
    expect(readFileSync(path.join(dest, 'lib-1.0.0.tgz'), 'utf8')).toBe('tarball bytes');
  });
});
