// Turning what a user passes to a read* function (a file, a directory, a glob, or a list of
// them) into the sorted list of files to read, with an error that names any path that does not
// exist or matches nothing.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export function expandPaths(
  paths: string | string[],
  extensions: string[] | undefined,
  reader: string,
): string[] {
  const list = typeof paths === 'string' ? [paths] : paths;
  if (!Array.isArray(list) || list.length === 0 || list.some((p) => typeof p !== 'string' || p === '')) {
    throw new TypeError(
      `${reader}: paths must be a file, directory or glob, or a non-empty array of them; got ${JSON.stringify(paths)}`,
    );
  }
  const files: string[] = [];
  for (const given of list) {
    const p = path.resolve(given);
    if (/[*?[]/.test(given)) {
      const matched = glob(p).filter((f) => hasExtension(f, extensions));
      if (matched.length === 0) throw new Error(`${reader}: no file matches ${given}`);
      files.push(...matched);
      continue;
    }
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(p);
    } catch {
      throw new Error(`${reader}: no such file or directory: ${given}${given !== p ? ` (${p})` : ''}`);
    }
    if (stat.isDirectory()) {
      const inside = walk(p).filter((f) => hasExtension(f, extensions));
      if (inside.length === 0) {
        throw new Error(
          `${reader}: the directory ${given} holds no ${extensions ? extensions.join('/') : ''} files`,
        );
      }
      files.push(...inside);
    } else {
      files.push(p);
    }
  }
  return files;
}

function hasExtension(file: string, extensions: string[] | undefined): boolean {
  const base = path.basename(file);
  if (base.startsWith('.') || base.startsWith('_')) return false;
  return extensions === undefined || extensions.some((e) => file.endsWith(e));
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** `*` and `?` within a segment, `**` across segments. */
function glob(pattern: string): string[] {
  const segments = pattern.split(path.sep);
  const first = segments.findIndex((s) => /[*?[]/.test(s));
  const base = segments.slice(0, first).join(path.sep) || path.sep;
  let source = '';
  for (const segment of segments.slice(first)) {
    if (segment === '**') source += '(?:.*/)?';
    else
      source += `${segment
        .replace(/[.+^${}()|\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')}/`;
  }
  const re = new RegExp(`^${source.slice(0, -1)}$`);
  let files: string[];
  try {
    files = walk(base);
  } catch {
    return [];
  }
  return files.filter((f) => re.test(path.relative(base, f).split(path.sep).join('/')));
}
