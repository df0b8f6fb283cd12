// A trial's files in its directory: params.json (its config), result.json (one JSON line per
// result), progress.csv (the results' flattened fields as columns, fixed by the first result, as
// Ray's CSV logger) and error.txt when it fails. Also the removal of checkpoints beyond numToKeep.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function writeParams(trialDir: string, config: Record<string, unknown>): void {
  mkdirSync(trialDir, { recursive: true });
  writeFileSync(path.join(trialDir, 'params.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** Nested objects flattened with '/' (Ray's flatten_dict), for CSV columns and rows. */
export function flatten(value: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}) {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix === '' ? k : `${prefix}/${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      flatten(v as Record<string, unknown>, key, out);
    } else out[key] = v;
  }
  return out;
}

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** progress.csv's columns per file, so a result does not re-read the header. */
const csvColumns = new Map<string, string[]>();

export function appendResult(trialDir: string, result: Record<string, unknown>, config: unknown): void {
  appendFileSync(path.join(trialDir, 'result.json'), `${JSON.stringify({ ...result, config })}\n`);
  const csv = path.join(trialDir, 'progress.csv');
  const flat = flatten(result);
  let columns = csvColumns.get(csv);
  if (!existsSync(csv)) {
    columns = Object.keys(flat);
    appendFileSync(csv, `${columns.map(csvCell).join(',')}\n`);
  } else if (columns === undefined) {
    const header = readFileSync(csv, 'utf8').split('\n', 1)[0] ?? '';
    columns = parseCsvLine(header);
  }
  csvColumns.set(csv, columns);
  appendFileSync(csv, `${columns.map((c) => csvCell(flat[c])).join(',')}\n`);
}

/** One CSV line (as written above) into its cells. */
export function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

/** Every result a trial wrote, in order (what the killed driver saw, for a restored one). */
export function readResults(trialDir: string): Record<string, unknown>[] {
  const file = path.join(trialDir, 'result.json');
  if (!existsSync(file)) return [];
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      delete parsed.config;
      out.push(parsed);
    } catch {
      // A line cut short by a kill: the state file, written after it, does not count it.
    }
  }
  return out;
}

export function writeError(trialDir: string, message: string): void {
  mkdirSync(trialDir, { recursive: true });
  writeFileSync(path.join(trialDir, 'error.txt'), `${message}\n`);
}

export function removeCheckpoint(trialDir: string, name: string): void {
  rmSync(path.join(trialDir, name), { recursive: true, force: true });
}

/**
 * Drop the results after `iteration` (a trial restarted from a checkpoint of that iteration will
 * report them again), so result.json and progress.csv hold each iteration once.
 */
export function truncateResults(trialDir: string, iteration: number): void {
  const json = path.join(trialDir, 'result.json');
  if (existsSync(json)) {
    const kept = readFileSync(json, 'utf8')
      .split('\n')
      .filter((line) => {
        if (line.trim() === '') return false;
        try {
          return (JSON.parse(line) as { training_iteration?: number }).training_iteration! <= iteration;
        } catch {
          return false;
        }
      });
    writeFileSync(json, kept.map((l) => `${l}\n`).join(''));
  }
  const csv = path.join(trialDir, 'progress.csv');
  if (existsSync(csv)) {
    const [header = '', ...rows] = readFileSync(csv, 'utf8').split('\n');
    const at = parseCsvLine(header).indexOf('training_iteration');
    const kept = rows.filter((r) => r !== '' && at >= 0 && Number(parseCsvLine(r)[at]) <= iteration);
    csvColumns.delete(csv);
    if (kept.length === 0) rmSync(csv, { force: true });
    else writeFileSync(csv, `${[header, ...kept].join('\n')}\n`);
  }
}
