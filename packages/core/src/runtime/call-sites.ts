// Where a ref was made, as Ray's RAY_record_ref_creation_sites: with TRAY_RECORD_REF_CREATION_SITES=1
// a put and a task's or actor method's return ref get the file:line:function of the user's frame
// that made them ("(put object) | main.mjs:12:load"), shown by `/api/v0/objects`, `tray memory`
// and the objects summary (which groups by it). Off by default: capturing a stack costs a few
// µs per ref (the core README has the figure). The user's frame is the first one outside tray's
// own packages (the directory holding this package: the monorepo's packages/ or node_modules/@tray/).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a row says when call sites are not recorded (Ray's word). */
export const CALL_SITES_DISABLED = 'disabled';

export const recordCallSites = process.env.TRAY_RECORD_REF_CREATION_SITES === '1';

export type CallKind = 'put object' | 'task call' | 'actor task call';

/** Frames to look through for the user's (tray's own calls are a handful deep). */
const FRAMES = 30;

let trayRoot: string | undefined;

/** The directory that holds tray's packages: frames under it are not the user's. */
function trayPackagesDir(): string {
  if (trayRoot === undefined) {
    // This file is bundled into <package>/dist/*.js (or run from <package>/src/runtime/ in tests).
    let dir = path.dirname(fileURLToPath(import.meta.url));
    while (path.basename(dir) === 'runtime' || path.basename(dir) === 'src' || path.basename(dir) === 'dist')
      dir = path.dirname(dir);
    trayRoot = `${path.dirname(dir)}${path.sep}`;
  }
  return trayRoot;
}

/** A frame's file as a row shows it (relative to the working directory), null: not the user's. */
const shownFiles = new Map<string, string | null>();

function shownFile(name: string): string | null {
  let shown = shownFiles.get(name);
  if (shown !== undefined) return shown;
  const file = name.startsWith('file://') ? fileURLToPath(name) : name;
  if (file === '' || file.startsWith('node:') || file.startsWith(trayPackagesDir())) shown = null;
  else {
    const relative = path.relative(process.cwd(), file);
    shown = relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
  }
  if (shownFiles.size < 10_000) shownFiles.set(name, shown);
  return shown;
}

function frames(_: Error, sites: NodeJS.CallSite[]): NodeJS.CallSite[] {
  return sites;
}

/** `(kind) | file:line:function` of the user's frame that is making a ref now. */
export function userCallSite(kind: CallKind): string {
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  Error.stackTraceLimit = FRAMES;
  Error.prepareStackTrace = frames;
  try {
    Error.captureStackTrace(holder, userCallSite);
    for (const site of holder.stack ?? []) {
      const shown = shownFile(site.getFileName() ?? '');
      if (shown === null) continue;
      const fn = site.getFunctionName() ?? '<anonymous>';
      return `(${kind}) | ${shown}:${site.getLineNumber() ?? 0}:${fn}`;
    }
    return `(${kind}) | <no user frame>`;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}
