// What the runtime-env tests share: a TMPDIR per test (every process a test starts inherits
// it, so cleanup finds them by it), packages built with the real `npm pack`, driver scripts
// run as child processes, `tray start` nodes, and the raylets' GetNodeStats (their cache).
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { GcsClient } from '@tray/gcs';
import { createGrpcClient, NodeManagerService, type tray } from '@tray/protocol';
import { packageBin, processesWithEnv, waitFor } from '@tray/test-support';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BIN = packageBin('@tray/cli', import.meta.url, 'tray');
export const CORE = pathToFileURL(path.join(ROOT, 'packages', 'core', 'dist', 'index.js')).href;

const dirs: string[] = [];
const children: ChildProcess[] = [];
/** `tray start` nodes: stopped first, and their raylets' store segments removed. */
const nodes: { tmp: string; raylet: number }[] = [];

/** A fresh TMPDIR for this test's processes. */
export function tmpdir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-renv-'));
  dirs.push(dir);
  return dir;
}

/** For afterEach: SIGKILL what the test left (by TMPDIR), remove its dirs and store segments. */
export async function cleanUp(): Promise<void> {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  const started = nodes.splice(0);
  await Promise.all(started.map((n) => trayCli(['stop', '--grace-ms', '5000'], n.tmp)));
  for (const dir of dirs) for (const pid of processesWithEnv('TMPDIR', dir)) kill(pid);
  await waitFor(() => dirs.every((d) => processesWithEnv('TMPDIR', d).length === 0), {
    timeoutMs: 15_000,
    what: "the test's processes to exit",
  });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const { raylet } of started) {
    for (const name of readdirSync('/dev/shm'))
      if (name.startsWith(`tray-store-${raylet}-`)) rmSync(path.join('/dev/shm', name), { force: true });
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
}

/** `npm pack` a package {name, version} whose index.js is `source`; returns the tarball path. */
export function packPackage(dir: string, name: string, version: string, source: string): string {
  const src = path.join(dir, `src-${name}-${version}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, 'package.json'), JSON.stringify({ name, version, main: 'index.js' }));
  writeFileSync(path.join(src, 'index.js'), source);
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {
    cwd: src,
    encoding: 'utf8',
    env: { ...process.env, TMPDIR: dir },
  });
  rmSync(src, { recursive: true, force: true });
  return path.join(dir, out.trim().split('\n').pop()!);
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Write `body` as an ES module driver in `dir` (with `tray` imported) and run it there with
 * TMPDIR=`tmp`; resolves when it exits (SIGKILLed past the deadline).
 */
export function runDriver(
  dir: string,
  tmp: string,
  body: string,
  env: Record<string, string> = {},
  deadlineMs = 120_000,
): Promise<Run> {
  const file = path.join(dir, `driver-${Date.now()}-${Math.random().toString(16).slice(2)}.mjs`);
  writeFileSync(file, `import * as tray from ${JSON.stringify(CORE)};\n${body}\n`);
  const { TRAY_ADDRESS: _a, TRAY_TOKEN: _t, ...rest } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd: dir,
      env: { ...rest, ...env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`driver did not finish within ${deadlineMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, deadlineMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON of the driver's `RESULT ` line. */
export function resultOf(run: Run): any {
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line)
    throw new Error(`no RESULT line (exit ${run.code})\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(line.slice('RESULT '.length));
}

export function trayCli(args: string[], tmp: string, env: Record<string, string> = {}): Promise<Run> {
  const { TRAY_ADDRESS: _a, TRAY_TOKEN: _t, ...rest } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...rest, ...env, TMPDIR: tmp }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) || 1 : 0, stdout, stderr }),
    );
  });
}

export interface NodeRecord {
  gcsAddress: string;
  tokenFile: string;
  nodeId: string;
  pids: { supervisor: number; raylet: number; gcs?: number };
}

/** `tray start ARGS` under its own TMPDIR; its current_cluster.json. */
export async function startNode(args: string[], env: Record<string, string> = {}) {
  const tmp = tmpdir();
  const run = await trayCli(['start', ...args], tmp, env);
  if (run.code !== 0) throw new Error(`tray start ${args.join(' ')} failed: ${run.stderr}${run.stdout}`);
  const record: NodeRecord = JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));
  nodes.push({ tmp, raylet: record.pids.raylet });
  return { tmp, record, token: readFileSync(record.tokenFile, 'utf8').trim() };
}

/** Every alive node's GetNodeStats, keyed by node id (hex). */
export async function nodeStats(
  gcsAddress: string,
  token: string,
): Promise<Map<string, tray.v1.GetNodeStatsReply>> {
  const gcs = new GcsClient(gcsAddress, { token, reconnectTimeoutMs: 0 });
  try {
    const out = new Map<string, tray.v1.GetNodeStatsReply>();
    for (const node of await gcs.getAllNodeInfo()) {
      if (node.state !== 0) continue;
      const client = createGrpcClient(`${node.nodeIp}:${node.rayletPort}`, { token });
      try {
        out.set(
          Buffer.from(node.nodeId).toString('hex'),
          await client.call(NodeManagerService.GetNodeStats, {}),
        );
      } finally {
        client.close();
      }
    }
    return out;
  } finally {
    gcs.close();
  }
}
