// The job supervisor actor (Ray's JobSupervisor): one per job, a detached actor placed with the
// job's entrypoint resources and runtime env, loaded by its worker from this module's file URL.
// run() starts the entrypoint as `/bin/sh -c <entrypoint>` in a process group of its own, with
// stdout and stderr appended to `<session>/logs/job-driver-<submission id>.log`, TRAY_ADDRESS set
// so a tray.init() inside joins this cluster, and the worker's cwd (the job's working_dir). It
// writes RUNNING and the final status to the job's record in the GCS KV itself, so the job's
// state does not depend on the dashboard living, then ends the actor. stop() sends SIGTERM to
// the whole group, and SIGKILL once the grace period passed with any of it still alive.
//
// The group's leader is a small Node wrapper (ENTRYPOINT_WRAPPER) that runs the shell and holds
// a pipe from this worker: if the supervisor's worker dies however it dies (SIGKILL included),
// the pipe closes and the wrapper SIGKILLs the whole group, so no entrypoint outlives its
// supervisor. The entrypoint's environment carries the job's runtime env
// (TRAY_JOB_RUNTIME_ENV), which a tray.init() inside takes as its job's (Ray's job-level env).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { exitActor } from '@tray/core';
import { GcsClient } from '@tray/gcs';
import { INTERNAL_ENV_VARS } from '@tray/runtime-env';
import type { JobStatus } from './job-info.js';
import { JobStore } from './job-store.js';

export interface SupervisorSpec {
  submissionId: string;
  entrypoint: string;
  /** The job's runtime_env env_vars, set for the entrypoint. */
  envVars: Record<string, string>;
  /** SIGTERM → SIGKILL grace period of stop(), ms. */
  stopGraceMs: number;
  /** The job's runtime env as tray.init takes it (undefined: none). */
  runtimeEnv?: Record<string, unknown>;
}

/**
 * The process group's leader: runs `/bin/sh -c <argv[1]>` in its own group, ignores the signals a
 * stop sends (it leaves with the shell's exit code or signal), and SIGKILLs the group when its
 * stdin — a pipe whose other end only the supervisor holds — closes.
 */
const ENTRYPOINT_WRAPPER = `
const { spawn } = require('node:child_process');
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => {});
const child = spawn('/bin/sh', ['-c', process.argv[1]], { stdio: ['ignore', 'inherit', 'inherit'] });
child.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
});
process.stdin.on('close', () => process.kill(-process.pid, 'SIGKILL'));
process.stdin.on('end', () => process.kill(-process.pid, 'SIGKILL'));
process.stdin.resume();
`;

export interface JobOutcome {
  status: JobStatus;
  exitCode: number | null;
  message: string;
}

/** How much of the log's end a FAILED job's message quotes. */
const LOG_TAIL_BYTES = 2000;

function logTail(file: string): string {
  try {
    const size = statSync(file).size;
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    return buffer.toString('utf8');
  } catch {
    return '';
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {}
}

/** How often a running entrypoint's tray driver is looked for (its job_id). */
const LINK_POLL_MS = 1000;

/**
 * Ray's JobDetails.job_id: the job of the tray driver the entrypoint started, if it started one
 * (the GCS job whose job_submission_id is this submission: the driver took it from
 * TRAY_JOB_SUBMISSION_ID). Looked for while the entrypoint runs, and once more after it ended.
 */
async function linkDriverJob(
  gcs: Pick<GcsClient, 'getAllJobInfo'>,
  store: JobStore,
  id: string,
  running: () => boolean,
): Promise<void> {
  for (;;) {
    const last = !running();
    try {
      const job = (await gcs.getAllJobInfo()).find((j) => j.jobSubmissionId === id);
      if (job) {
        await store.update(id, { job_id: Buffer.from(job.jobId).toString('hex') });
        return;
      }
    } catch {}
    if (last) return;
    await new Promise((r) => setTimeout(r, LINK_POLL_MS));
  }
}

/** The entrypoint's environment: the worker's, without what makes a process a tray worker. */
function entrypointEnv(spec: SupervisorSpec): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const keep = new Set(['TRAY_TOKEN', 'TRAY_SESSION_DIR', 'TRAY_NODE_IP']);
  for (const [k, v] of Object.entries(process.env)) {
    if (!INTERNAL_ENV_VARS.has(k) || keep.has(k)) env[k] = v;
  }
  return {
    ...env,
    ...spec.envVars,
    TRAY_ADDRESS: process.env.TRAY_GCS_ADDRESS,
    TRAY_JOB_SUBMISSION_ID: spec.submissionId,
    ...(spec.runtimeEnv ? { TRAY_JOB_RUNTIME_ENV: JSON.stringify(spec.runtimeEnv) } : {}),
  };
}

export class JobSupervisor {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stopRequested = false;

  async run(spec: SupervisorSpec): Promise<JobOutcome> {
    const gcs = new GcsClient(process.env.TRAY_GCS_ADDRESS ?? '', { token: process.env.TRAY_TOKEN ?? '' });
    const store = new JobStore(gcs);
    const id = spec.submissionId;
    try {
      const outcome = await this.runEntrypoint(spec, store);
      await store.update(id, {
        status: outcome.status,
        message: outcome.message,
        error_type: outcome.status === 'FAILED' ? 'JOB_ENTRYPOINT_COMMAND_ERROR' : null,
        driver_exit_code: outcome.exitCode,
        end_time: Date.now(),
        _pgid: undefined,
      });
      return outcome;
    } finally {
      gcs.close();
      exitActor();
    }
  }

  private async runEntrypoint(spec: SupervisorSpec, store: JobStore): Promise<JobOutcome> {
    if (this.stopRequested)
      return { status: 'STOPPED', exitCode: null, message: 'Job was intentionally stopped.' };
    const logs = path.join(process.env.TRAY_SESSION_DIR ?? process.cwd(), 'logs');
    mkdirSync(logs, { recursive: true });
    const logPath = path.join(logs, `job-driver-${spec.submissionId}.log`);
    const fd = openSync(logPath, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, ['-e', ENTRYPOINT_WRAPPER, spec.entrypoint], {
        cwd: process.cwd(),
        env: entrypointEnv(spec),
        // stdin: the pipe that ties the group to this process's life (never written).
        stdio: ['pipe', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
      (resolve) => {
        child.once('error', (error) => resolve({ code: null, signal: null, error }));
        child.once('exit', (code, signal) => resolve({ code, signal }));
      },
    );
    this.exited = done.then(() => {});
    if (child.pid !== undefined) {
      await store.update(spec.submissionId, {
        status: 'RUNNING',
        message: 'the entrypoint is running',
        _log_path: logPath,
        _pgid: child.pid,
        driver_node_id: process.env.TRAY_NODE_ID ?? null,
      });
    }
    let exited = false;
    void done.then(() => {
      exited = true;
    });
    const linking =
      child.pid !== undefined
        ? linkDriverJob(store.gcs, store, spec.submissionId, () => !exited)
        : Promise.resolve();
    const { code, signal, error } = await done;
    await linking;
    if (error)
      return {
        status: 'FAILED',
        exitCode: null,
        message: `the entrypoint could not start: ${error.message}`,
      };
    const exitCode = code ?? (signal ? -(constants.signals[signal] ?? 0) : null);
    if (this.stopRequested) return { status: 'STOPPED', exitCode, message: 'Job was intentionally stopped.' };
    if (code === 0) return { status: 'SUCCEEDED', exitCode: 0, message: 'Job finished successfully.' };
    const how = signal ? `was killed by ${signal}` : `failed with exit code ${code}`;
    const tail = logTail(logPath);
    return {
      status: 'FAILED',
      exitCode,
      message: `Job entrypoint command ${how}${tail ? `, last available logs (truncated to ${LOG_TAIL_BYTES} bytes):\n${tail}` : ''}`,
    };
  }

  /** SIGTERM to the entrypoint's process group, SIGKILL after the grace period; false if not running. */
  async stop(graceMs: number): Promise<boolean> {
    this.stopRequested = true;
    const pgid = this.child?.pid;
    if (pgid === undefined) return true;
    if (!groupAlive(pgid)) return false;
    signalGroup(pgid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
    await this.exited;
    return true;
  }
}
