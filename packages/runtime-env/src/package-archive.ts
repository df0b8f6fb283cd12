// Working dirs and modules as packages: the driver packs a local directory (leaving out what
// `.trayignore` and `excludes` name, and `.git`) into one gzipped archive named by the hash of
// its content, so the same directory is one package however many jobs use it; nodes unpack it.
// The archive: gzip of [u32 header length][header JSON: {path, mode, size}[]][file bytes...].
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

/** Ray's limit on a working_dir package: 100 MiB (env TRAY_RUNTIME_ENV_MAX_PACKAGE_BYTES). */
export const DEFAULT_MAX_PACKAGE_BYTES = 100 * 1024 ** 2;

export interface PackedDir {
  /** sha256 (hex) of the paths, modes and contents. */
  hash: string;
  archive: Buffer;
  /** Bytes of the files before compression. */
  bytes: number;
  files: number;
}

interface FileEntry {
  path: string;
  mode: number;
  size: number;
}

/** A gitignore-like pattern as a test of a relative path ('/'-separated). */
function patternTest(pattern: string): (rel: string, isDir: boolean) => boolean {
  let p = pattern.trim();
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.slice(0, -1);
  const anchored = p.startsWith('/') || p.includes('/');
  if (p.startsWith('/')) p = p.slice(1);
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      re += '.*';
      i++;
      if (p[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const rx = new RegExp(anchored ? `^${re}$` : `(^|/)${re}$`);
  return (rel, isDir) => (!dirOnly || isDir) && rx.test(rel);
}

/** Patterns of `.trayignore` in `dir` plus `excludes`; lines starting with # are comments. */
export function ignoreRules(
  dir: string,
  excludes: readonly string[] = [],
): (rel: string, isDir: boolean) => boolean {
  let lines: string[] = [];
  try {
    lines = readFileSync(join(dir, '.trayignore'), 'utf8').split('\n');
  } catch {}
  const tests = [...lines, ...excludes, '.git/']
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map(patternTest);
  return (rel, isDir) => tests.some((t) => t(rel, isDir));
}

function walk(root: string, ignored: (rel: string, isDir: boolean) => boolean): FileEntry[] {
  const out: FileEntry[] = [];
  const visit = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const rel = relative(root, abs).split(sep).join('/');
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        if (!ignored(rel, true)) visit(abs);
      } else if (st.isFile() && !ignored(rel, false)) {
        out.push({ path: rel, mode: st.mode & 0o777, size: st.size });
      }
    }
  };
  visit(root);
  return out;
}

function mib(n: number): string {
  return `${(n / 1024 ** 2).toFixed(2)} MiB`;
}

/**
 * Pack `dir`. Over `maxBytes` (before compression) it throws naming the biggest files, so the
 * user knows what to put in `.trayignore` or `excludes`.
 */
export function packDirectory(
  dir: string,
  options: { excludes?: readonly string[]; maxBytes?: number; what?: string } = {},
): PackedDir {
  const root = resolve(dir);
  const what = options.what ?? 'workingDir';
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(root);
  } catch {
    throw new Error(`runtimeEnv.${what}: ${root} does not exist (give a local directory)`);
  }
  if (!st.isDirectory()) throw new Error(`runtimeEnv.${what}: ${root} is not a directory`);
  const files = walk(root, ignoreRules(root, options.excludes));
  const bytes = files.reduce((n, f) => n + f.size, 0);
  const max = options.maxBytes ?? DEFAULT_MAX_PACKAGE_BYTES;
  if (bytes > max) {
    const biggest = [...files]
      .sort((a, b) => b.size - a.size)
      .slice(0, 5)
      .map((f) => `${f.path} (${mib(f.size)})`)
      .join(', ');
    throw new Error(
      `runtimeEnv.${what}: ${root} is ${mib(bytes)}, over the ${mib(max)} limit of a package; ` +
        `the biggest files: ${biggest}. Leave files out with a .trayignore file or runtimeEnv.excludes`,
    );
  }
  const hash = createHash('sha256');
  const contents: Buffer[] = [];
  for (const f of files) {
    const data = readFileSync(join(root, f.path));
    f.size = data.length;
    hash.update(`${f.path}\0${f.mode}\0${data.length}\0`).update(data);
    contents.push(data);
  }
  const header = Buffer.from(JSON.stringify(files));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length);
  const archive = gzipSync(Buffer.concat([length, header, ...contents]), { level: 6 });
  return { hash: hash.digest('hex').slice(0, 40), archive, bytes, files: files.length };
}

/** Pack one file (a local npm tarball) as a package holding just it. */
export function packFile(file: string): PackedDir {
  return packBytes(file.split(/[\\/]/).pop()!, readFileSync(file));
}

/** One file named `name` holding `data`, as a package (a lockfile the driver rewrote). */
export function packBytes(name: string, data: Buffer): PackedDir {
  const entry: FileEntry = { path: name, mode: 0o644, size: data.length };
  const hash = createHash('sha256')
    .update(`${name}\0${data.length}\0`)
    .update(data)
    .digest('hex')
    .slice(0, 40);
  const header = Buffer.from(JSON.stringify([entry]));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length);
  return { hash, archive: gzipSync(Buffer.concat([length, header, data])), bytes: data.length, files: 1 };
}

/** Unpack an archive into `dest` (created); returns the bytes written. Refuses paths leaving dest. */
export function unpackArchive(archive: Buffer, dest: string): number {
  const raw = gunzipSync(archive);
  if (raw.length < 4) throw new Error('runtime-env package: truncated archive');
  const headerLength = raw.readUInt32BE(0);
  if (4 + headerLength > raw.length) throw new Error('runtime-env package: truncated header');
  const files = JSON.parse(raw.subarray(4, 4 + headerLength).toString('utf8')) as FileEntry[];
  if (!Array.isArray(files)) throw new Error('runtime-env package: the header is not a file list');
  const root = resolve(dest);
  let offset = 4 + headerLength;
  let bytes = 0;
  mkdirSync(root, { recursive: true });
  for (const f of files) {
    if (typeof f?.path !== 'string' || !Number.isInteger(f.size) || f.size < 0 || !Number.isInteger(f.mode))
      throw new Error('runtime-env package: a malformed file entry');
    const target = resolve(root, f.path);
    if (!target.startsWith(root + sep)) throw new Error(`runtime-env package: ${f.path} leaves the package`);
    if (offset + f.size > raw.length) throw new Error(`runtime-env package: ${f.path} is truncated`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, raw.subarray(offset, offset + f.size));
    chmodSync(target, f.mode & 0o777);
    offset += f.size;
    bytes += f.size;
  }
  return bytes;
}

/**
 * The hashes an archive's contents have (what packDir, or packBytes for one file, names it by):
 * a server that stores an upload under a hash checks it is one of these. Throws on an archive
 * that is not one of ours.
 */
export function archiveContentHashes(archive: Buffer): string[] {
  let raw: Buffer;
  try {
    // Bounded: a small upload must not inflate without limit (a header's worth over the files).
    raw = gunzipSync(archive, { maxOutputLength: DEFAULT_MAX_PACKAGE_BYTES + (16 << 20) });
  } catch (err) {
    throw new Error(
      `the package does not inflate (not a tray client's gzip archive, or too big): ${(err as Error).message}`,
    );
  }
  if (raw.length < 4) throw new Error('runtime-env package: truncated archive');
  const headerLength = raw.readUInt32BE(0);
  if (4 + headerLength > raw.length) throw new Error('runtime-env package: truncated header');
  let files: FileEntry[];
  try {
    files = JSON.parse(raw.subarray(4, 4 + headerLength).toString('utf8')) as FileEntry[];
  } catch {
    throw new Error('runtime-env package: the header is not JSON');
  }
  if (!Array.isArray(files)) throw new Error('runtime-env package: the header is not a file list');
  const dir = createHash('sha256');
  let offset = 4 + headerLength;
  for (const f of files) {
    if (typeof f?.path !== 'string' || !Number.isInteger(f.size) || f.size < 0 || !Number.isInteger(f.mode))
      throw new Error('runtime-env package: a malformed file entry');
    if (offset + f.size > raw.length) throw new Error(`runtime-env package: ${f.path} is truncated`);
    const data = raw.subarray(offset, offset + f.size);
    dir.update(`${f.path}\0${f.mode}\0${data.length}\0`).update(data);
    offset += f.size;
  }
  const hashes = [dir.digest('hex').slice(0, 40)];
  if (files.length === 1) {
    const data = raw.subarray(4 + headerLength, 4 + headerLength + files[0]!.size);
    hashes.push(
      createHash('sha256')
        .update(`${files[0]!.path}\0${data.length}\0`)
        .update(data)
        .digest('hex')
        .slice(0, 40),
    );
  }
  return hashes;
}
