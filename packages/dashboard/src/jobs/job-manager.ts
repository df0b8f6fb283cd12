// The dashboard's side of jobs (Ray's JobManager): a submission becomes a PENDING record in the
// GCS KV and a detached supervisor actor (placed with the entrypoint resources, in the job's
// runtime env) that runs the entrypoint and records RUNNING and the end itself. The manager
// stops jobs through their supervisor, deletes finished ones, reads their logs, and watches the
// supervisors of unfinished jobs: one that died (its worker killed, its runtime env failing to
// set up) fails its job with the reason. All of it is read back from the KV, so a restarted
// dashboard carries on with the jobs of the one before.
import { rmSync } from 'node:fs';
import type * as Tray from '@tray/core';
import type { GcsClient } from '@tray/gcs';
import { badRequest, HttpError, notFound } from '../server/http-error.js';
import { isTerminal, type JobSubmission, type StoredJob, toTrayRuntimeEnv } from './job-info.js';
import { JobStore } from './job-store.js';
import { JobSupervisor } from './supervisor.js';
import { supervisorModuleUrl } from './supervisor-module.js';

export const SUPERVISOR_NAMESPACE = '_tray_jobs';
export const supervisorName = (id: string): string => `_tray_job_supervisor_${id}`;

/** Ray's RAY_JOB_STOP_SIGNAL_TIMEOUT_S: SIGTERM → SIGKILL grace of a stop, default 3 s. */
function stopGraceMs(): number {
  const raw = process.env.TRAY_JOB_STOP_SIGNAL_TIMEOUT_S;
  if (raw === undefined || raw === '') return 3000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 0) {
    throw new Error(`TRAY_JOB_STOP_SIGNAL_TIMEOUT_S must be a non-negative number of seconds, got '${raw}'`);
  }
  return s * 1000;
}

/** A supervisor whose actor cannot be found this long after submission failed to start. */
const SUPERVISOR_MISSING_MS = 60_000;
const MONITOR_INTERVAL_MS = 1000;
const DEAD = 4; // ActorTableData.State.DEAD

export class JobManager {
  readonly store: JobStore;
  private readonly graceMs = stopGraceMs();
  private supervisorClass: Tray.ActorClass<typeof JobSupervisor> | undefined;
  private monitor: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly driver: () => Promise<typeof Tray>,
    private readonly gcs: GcsClient,
    private readonly log: (message: string) => void,
  ) {
    this.store = new JobStore(gcs);
  }

  private async supervisors(): Promise<{
    tray: typeof Tray;
    Supervisor: Tray.ActorClass<typeof JobSupervisor>;
  }> {
    const tray = await this.driver();
    this.supervisorClass ??= tray.remote(JobSupervisor, {
      module: supervisorModuleUrl(),
      exportName: 'JobSupervisor',
    });
    return { tray, Supervisor: this.supervisorClass };
  }

  start(): void {
    this.monitor = setInterval(() => void this.checkSupervisors(), MONITOR_INTERVAL_MS);
    this.monitor.unref();
  }

  close(): void {
    clearInterval(this.monitor);
  }

  async submit(sub: JobSubmission): Promise<string> {
    const runtimeEnv = toTrayRuntimeEnv(sub.runtime_env);
    const { tray, Supervisor } = await this.supervisors();
    const id = sub.submission_id;
    const job: StoredJob = {
      type: 'SUBMISSION',
      job_id: null,
      submission_id: id,
      driver_info: null,
      status: 'PENDING',
      entrypoint: sub.entrypoint,
      message: 'the job supervisor actor is being scheduled',
      error_type: null,
      start_time: Date.now(),
      end_time: null,
      metadata: sub.metadata,
      runtime_env: sub.runtime_env,
      driver_agent_http_address: null,
      driver_node_id: null,
      driver_exit_code: null,
      entrypoint_num_cpus: sub.entrypoint_num_cpus,
      entrypoint_num_gpus: sub.entrypoint_num_gpus,
      entrypoint_memory: sub.entrypoint_memory,
      entrypoint_resources: sub.entrypoint_resources,
    };
    if (!(await this.store.create(job))) {
      throw badRequest(`a job with submission_id '${id}' already exists; pick another id or delete that job`);
    }
    let supervisor: Tray.ActorHandle<JobSupervisor>;
    try {
      supervisor = Supervisor.options({
        name: supervisorName(id),
        namespace: SUPERVISOR_NAMESPACE,
        lifetime: 'detached',
        numCpus: sub.entrypoint_num_cpus,
        numGpus: sub.entrypoint_num_gpus,
        memory: sub.entrypoint_memory,
        resources: sub.entrypoint_resources,
        maxConcurrency: 4,
        ...(runtimeEnv ? { runtimeEnv: runtimeEnv as Tray.RuntimeEnvOptions } : {}),
      }).remote();
    } catch (err) {
      // Options core refused (a bad runtime env, a fractional GPU count): the caller's mistake.
      await this.store.delete(id);
      throw badRequest(`cannot start the job: ${(err as Error).message}`);
    }
    const envVars = (runtimeEnv?.envVars as Record<string, string> | undefined) ?? {};
    const outcome = supervisor.run.remote({
      submissionId: id,
      entrypoint: sub.entrypoint,
      envVars,
      stopGraceMs: this.graceMs,
      ...(runtimeEnv ? { runtimeEnv: runtimeEnv as Record<string, unknown> } : {}),
    });
    // The supervisor records the outcome itself; this only catches it never getting to run.
    tray.get(outcome).catch((err: Error) => void this.failJob(id, err.message, errorType(err.message)));
    return id;
  }

  async get(id: string): Promise<StoredJob> {
    const job = await this.store.get(id);
    if (job === undefined) throw notFound(`no job with submission_id '${id}'`);
    return job;
  }

  /** Stops a job: false if it had already ended. */
  async stop(id: string): Promise<boolean> {
    const job = await this.get(id);
    if (isTerminal(job.status)) return false;
    // Said first: a supervisor that dies of this stop (or a lost reply) ends the job STOPPED, not
    // FAILED — failJob reads it (without it, a stop under load raced the death's FAILED).
    await this.store.update(id, { _stop_requested: true });
    const tray = await this.driver();
    let handle: Tray.ActorHandle<JobSupervisor> | undefined;
    try {
      handle = await tray.getActor<JobSupervisor>(supervisorName(id), { namespace: SUPERVISOR_NAMESPACE });
    } catch {}
    if (handle === undefined || job.status === 'PENDING') {
      // Not running yet (or its supervisor is gone): the job is stopped, then its supervisor
      // ended (its entrypoint, if it just started one, dies with it).
      await this.store.update(id, {
        status: 'STOPPED',
        message: 'Job was intentionally stopped.',
        end_time: Date.now(),
      });
      if (handle) await tray.kill(handle, { noRestart: true }).catch(() => {});
      return true;
    }
    try {
      await tray.get(handle.stop.remote(this.graceMs), { timeoutMs: this.graceMs + 30_000 });
    } catch (err) {
      // The supervisor ends itself once the entrypoint exited; a reply lost to that is fine.
      const after = await this.store.get(id);
      if (!after || !isTerminal(after.status)) {
        throw new HttpError(500, `stopping job '${id}' failed: ${(err as Error).message}`);
      }
    }
    return true;
  }

  async delete(id: string): Promise<boolean> {
    const job = await this.get(id);
    if (!isTerminal(job.status)) {
      throw badRequest(`job '${id}' is ${job.status}: only a finished job can be deleted; stop it first`);
    }
    if (job._log_path) rmSync(job._log_path, { force: true });
    return this.store.delete(id);
  }

  private async failJob(id: string, message: string, type: string): Promise<void> {
    try {
      const job = await this.store.get(id);
      if (!job || isTerminal(job.status)) return;
      if (job._stop_requested) {
        await this.store.update(id, {
          status: 'STOPPED',
          message: 'Job was intentionally stopped.',
          end_time: Date.now(),
        });
        return;
      }
      this.log(`job ${id} failed: ${message.split('\n')[0]}`);
      await this.store.update(id, { status: 'FAILED', message, error_type: type, end_time: Date.now() });
    } catch (err) {
      this.log(`cannot record that job ${id} failed: ${(err as Error).message}`);
    }
  }

  /** Unfinished jobs whose supervisor actor is dead (or never appeared) fail with the reason. */
  private async checkSupervisors(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const open = (await this.store.list()).filter((j) => !isTerminal(j.status));
      if (open.length === 0) return;
      const actors = (await this.gcs.getAllActorInfo()).filter((a) => a.namespace === SUPERVISOR_NAMESPACE);
      for (const job of open) {
        const mine = actors.filter((a) => a.name === supervisorName(job.submission_id));
        if (mine.length > 0 && mine.every((a) => a.state === DEAD)) {
          const cause = mine[mine.length - 1]!.deathCause?.message || 'it died';
          await this.failJob(job.submission_id, `the job supervisor actor died: ${cause}`, errorType(cause));
        } else if (mine.length === 0 && Date.now() - (job.start_time ?? 0) > SUPERVISOR_MISSING_MS) {
          await this.failJob(
            job.submission_id,
            'the job supervisor actor was never created',
            'JOB_SUPERVISOR_ACTOR_START_FAILURE',
          );
        }
      }
    } catch (err) {
      this.log(`checking the job supervisors failed: ${(err as Error).message}`);
    } finally {
      this.checking = false;
    }
  }
}

function errorType(message: string): string {
  return /runtime.?env/i.test(message) ? 'RUNTIME_ENV_SETUP_FAILURE' : 'JOB_SUPERVISOR_ACTOR_DIED';
}
