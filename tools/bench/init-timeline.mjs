#!/usr/bin/env node
// Where the time from `tray.init()` to the first task's result goes, per process: runs one fresh
// driver (init with 2 CPUs, one trivial task, shutdown) with init-timeline/preload.cjs preloaded
// into it and, through NODE_OPTIONS, into the GCS, the raylet and the workers; prints every
// process's spawn, end of bootstrap, first listens/connects, `ready` messages and CPU at exit,
// in ms from the driver's init() call, with the machine's load. --json prints the events as
// one JSON line instead. Needs the built workspace (`npm run build`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** `gcs/dist/main.js` → gcs; this script → driver; core's `dist/worker/main.js` (or `.cjs`) → worker. */
function processName(script) {
  if (script.endsWith('init-timeline.mjs')) return 'driver';
  if (script.startsWith('gcs/')) return 'gcs';
  if (script.startsWith('raylet/')) return 'raylet';
  if (/worker\/main\.c?js$/.test(script)) return 'worker';
  return script;
}

if (process.argv[2] === '--driver') {
  const mark = (event) => {
    process.stdout.write(`${(performance.timeOrigin + performance.now()).toFixed(1)}\tdriver\t${event}\n`);
  };
  const tray = await import('@tray/core');
  mark('init()');
  await tray.init({ numCpus: 2 });
  mark('init() returned');
  const f = tray.remote((x) => x + 1);
  const value = await tray.get(f.remote(1), { timeoutMs: 60_000 });
  mark(`first result (${value})`);
  await tray.shutdown();
  mark('shutdown() returned');
} else {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-timeline-'));
  const file = path.join(dir, 'events.tsv');
  const load = os.loadavg()[0];
  let driverOut;
  let processEvents;
  try {
    driverOut = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--driver'], {
      env: {
        ...process.env,
        TRAY_TIMELINE_FILE: file,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${path.join(here, 'init-timeline/preload.cjs')}`,
      },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 120_000,
    });
  } finally {
    processEvents = readFileSync(file, 'utf8');
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = [...processEvents.split('\n'), ...driverOut.split('\n')]
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const parts = l.split('\t');
      return parts.length === 3
        ? { at: Number(parts[0]), who: 'driver', event: parts[2] }
        : { at: Number(parts[0]), who: `${processName(parts[2])} [${parts[1]}]`, event: parts[3] };
    })
    .sort((a, b) => a.at - b.at);
  const zero = rows.find((r) => r.who === 'driver' && r.event === 'init()')?.at ?? rows[0].at;
  const events = rows.map((r) => ({ ms: Math.round(r.at - zero), process: r.who, event: r.event }));
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ load, events })}\n`);
  } else {
    console.log(
      `tray.init() → first result, per process (ms from init(); load ${load.toFixed(2)}, ${os.cpus().length} cores)`,
    );
    for (const e of events) console.log(`${String(e.ms).padStart(6)}  ${e.process.padEnd(16)} ${e.event}`);
  }
}
