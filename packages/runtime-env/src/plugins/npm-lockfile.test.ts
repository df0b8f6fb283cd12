// The lockfile's checks on their own: what a node accepts of a lockfile received from the GCS
// (only references to tarballs a driver shipped), npm's error lines without its usage text, and
// a tarball's package name read without npm.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { npmErrorLines, parseLockfile, shippedRefs, splitSpec, tarballName } from './npm-lockfile.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A one-file ustar archive, gzipped: `name` holding `body`. */
function tgz(name: string, body: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'latin1');
  header.write('0000644\0', 100);
  header.write(`${Buffer.byteLength(body).toString(8).padStart(11, '0')}\0`, 124);
  header.write('0', 156);
  header.write('ustar\0', 257);
  const data = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512);
  data.write(body);
  return gzipSync(Buffer.concat([header, data, Buffer.alloc(1024)]));
}

const HASH = 'a'.repeat(40);

describe('npm lockfiles', () => {
  it('reads the package name of a tarball, and says when it is not one', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-lock-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'a.tgz'), tgz('package/package.json', JSON.stringify({ name: '@s/a' })));
    writeFileSync(path.join(dir, 'b.tgz'), 'plain text');
    expect(tarballName(path.join(dir, 'a.tgz'))).toBe('@s/a');
    expect(() => tarballName(path.join(dir, 'b.tgz'))).toThrow(/b\.tgz is not a gzipped npm tarball/);
  });

  it('splits registry specs into name and range', () => {
    expect(splitSpec('lodash@4.17.21')).toEqual({ name: 'lodash', range: '4.17.21' });
    expect(splitSpec('@scope/pkg@^1')).toEqual({ name: '@scope/pkg', range: '^1' });
    expect(splitSpec('left-pad')).toEqual({ name: 'left-pad', range: '*' });
    expect(splitSpec('git+https://x/y.git')).toBeUndefined();
  });

  it('a node refuses local references the driver did not ship, and knows when it can stay offline', () => {
    const lock = (resolved: string) =>
      parseLockfile(
        JSON.stringify({
          lockfileVersion: 3,
          packages: { '': { dependencies: { a: resolved } }, 'node_modules/a': { resolved } },
        }),
        'the lockfile',
      );
    expect(shippedRefs(lock(`file:.tray-local/${HASH}/a-1.0.0.tgz`))).toEqual({
      hashes: [HASH],
      allLocal: true,
    });
    expect(shippedRefs(lock('https://registry.npmjs.org/a/-/a-1.0.0.tgz')).allLocal).toBe(false);
    expect(() => shippedRefs(lock('file:../../etc/a.tgz'))).toThrow(
      /refers to file:\.\.\/\.\.\/etc\/a\.tgz, which the driver did not ship/,
    );
    expect(() => parseLockfile('{"lockfileVersion":3}', 'L')).toThrow(/L has no "packages" section/);
  });

  it("keeps npm's error lines and drops the usage text after them", () => {
    const out = [
      'npm error code EUSAGE',
      'npm error',
      'npm error `npm ci` can only install packages when in sync.',
      "npm error Invalid: lock file's a@1.0.0 does not satisfy a@2.0.0",
      'npm error Clean install a project',
      'npm error Usage:',
    ].join('\n');
    expect(npmErrorLines(out)).toEqual([
      'npm error code EUSAGE',
      'npm error `npm ci` can only install packages when in sync.',
      "npm error Invalid: lock file's a@1.0.0 does not satisfy a@2.0.0",
    ]);
  });
});
