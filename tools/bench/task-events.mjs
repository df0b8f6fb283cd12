#!/usr/bin/env node
// Task events' cost on the hot path (issue 12, target < 5%): `tray microbenchmark`'s
// single_client_tasks_async with task events on (the default, reported every 1000 ms) and off
// (TRAY_TASK_EVENTS_REPORT_INTERVAL_MS=0), in interleaved rounds (on, off, on, off, ...) so that
// the machine's load drifts into both alike. Each round is one `tray microbenchmark` process
// (its own local cluster); the medians of the rounds are compared.
//   node tools/bench/task-events.mjs [--rounds 5] [--round-ms 2000] [--json]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'packages/cli/dist/bin.js');
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && Number(args[i + 1]) > 0 ? Number(args[i + 1]) : fallback;
};
const rounds = arg('--rounds', 5);
const roundMs = arg('--round-ms', 2000);
const json = args.includes('--json');
const KEY = 'single_client_tasks_async';

function once(eventsOn) {
  const env = { ...process.env, TRAY_TASK_EVENTS_REPORT_INTERVAL_MS: eventsOn ? '1000' : '0' };
  delete env.TRAY_ADDRESS;
  const out = execFileSync(
    process.execPath,
    [bin, 'microbenchmark', '--filter', KEY, '--rounds', '3', '--round-ms', String(roundMs), '--json'],
    { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  const parsed = JSON.parse(line);
  const value = parsed.results?.[KEY]?.value ?? parsed[KEY]?.value ?? parsed[KEY];
  if (typeof value !== 'number') throw new Error(`no ${KEY} in ${line}`);
  return value;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const on = [];
const off = [];
for (let r = 0; r < rounds; r++) {
  // Alternate which goes first, so neither always runs on a warmer machine.
  for (const eventsOn of r % 2 === 0 ? [true, false] : [false, true]) {
    const v = once(eventsOn);
    (eventsOn ? on : off).push(v);
    process.stderr.write(`round ${r + 1}: events ${eventsOn ? 'on ' : 'off'} ${Math.round(v)} tasks/s\n`);
  }
}
const result = {
  events_on: Math.round(median(on)),
  events_off: Math.round(median(off)),
  cost_pct: Number(((1 - median(on) / median(off)) * 100).toFixed(2)),
  rounds: { on: on.map(Math.round), off: off.map(Math.round) },
};
if (json) process.stdout.write(`${JSON.stringify({ task_events: result })}\n`);
else
  console.log(
    `${KEY}: events on ${result.events_on}/s, off ${result.events_off}/s, cost ${result.cost_pct}%`,
  );
