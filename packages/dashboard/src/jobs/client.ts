// JobSubmissionClient: Ray's Jobs SDK over the dashboard's REST API (LIBRARIES.md). It speaks
// snake_case on the wire and camelCase to its caller; a local runtimeEnv.workingDir (or local
// modules) is packed here with @tray/runtime-env's packing and uploaded once per content hash
// (PUT /api/packages/tray-pkg/<hash>), then the job names its tray-pkg:// URI. Every request
// carries the token (options.token, else TRAY_TOKEN); an error answer becomes a JobApiError with
// the server's own message.
import path from 'node:path';
import { packageUri, packDirectory } from '@tray/runtime-env';
import { WebSocket } from 'ws';
import { dashboardCa, dashboardRequest } from './http-request.js';
import type { JobDetails, JobStatus } from './job-info.js';

export type { JobStatus };

export interface JobSubmissionClientOptions {
  /** The cluster token (default: TRAY_TOKEN). */
  token?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** PEM CA that signed an https:// dashboard's certificate (default: TRAY_TLS_CA_CERT's file). */
  ca?: string | Buffer;
}

export interface SubmitJobOptions {
  entrypoint: string;
  submissionId?: string;
  /** tray's runtimeEnv; a local workingDir is uploaded first. */
  runtimeEnv?: Record<string, unknown>;
  metadata?: Record<string, string>;
  entrypointNumCpus?: number;
  entrypointNumGpus?: number;
  entrypointMemory?: number;
  entrypointResources?: Record<string, number>;
}

/** A job as getJobInfo and listJobs return it (Ray's JobDetails, camelCased). */
export interface JobInfo {
  type: 'SUBMISSION';
  jobId: string | null;
  submissionId: string;
  status: JobStatus;
  entrypoint: string;
  message: string | null;
  errorType: string | null;
  /** ms since the epoch. */
  startTime: number | null;
  endTime: number | null;
  metadata: Record<string, string> | null;
  runtimeEnv: Record<string, unknown> | null;
  driverNodeId: string | null;
  driverExitCode: number | null;
  entrypointNumCpus: number | null;
  entrypointNumGpus: number | null;
  entrypointMemory: number | null;
  entrypointResources: Record<string, number> | null;
}

export class JobApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'JobApiError';
  }
}

const RUNTIME_ENV_WIRE: Record<string, string> = {
  workingDir: 'working_dir',
  envVars: 'env_vars',
  excludes: 'excludes',
  npm: 'npm',
  modules: 'modules',
  nodeVersion: 'node_version',
  container: 'container',
  config: 'config',
};

function toInfo(d: JobDetails): JobInfo {
  return {
    type: d.type,
    jobId: d.job_id,
    submissionId: d.submission_id,
    status: d.status,
    entrypoint: d.entrypoint,
    message: d.message,
    errorType: d.error_type,
    startTime: d.start_time,
    endTime: d.end_time,
    metadata: d.metadata,
    runtimeEnv: d.runtime_env,
    driverNodeId: d.driver_node_id,
    driverExitCode: d.driver_exit_code,
    entrypointNumCpus: d.entrypoint_num_cpus,
    entrypointNumGpus: d.entrypoint_num_gpus,
    entrypointMemory: d.entrypoint_memory,
    entrypointResources: d.entrypoint_resources,
  };
}

export class JobSubmissionClient {
  readonly address: string;
  private readonly token: string | undefined;
  private readonly headers: Record<string, string>;
  private readonly ca: string | Buffer | undefined;

  constructor(address: string, options: JobSubmissionClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new TypeError(
        `JobSubmissionClient: address must be the dashboard's http://host:port, got ${JSON.stringify(address)}`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(
        `JobSubmissionClient: address must be http:// or https://, got ${JSON.stringify(address)}`,
      );
    }
    this.address = url.origin;
    this.token = options.token ?? process.env.TRAY_TOKEN;
    this.headers = options.headers ?? {};
    this.ca = dashboardCa(options.ca);
  }

  private authHeaders(): Record<string, string> {
    return { ...this.headers, ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) };
  }

  private async request<T>(method: string, route: string, body?: unknown, raw?: Buffer): Promise<T> {
    let reply: Awaited<ReturnType<typeof dashboardRequest>>;
    try {
      reply = await dashboardRequest(`${this.address}${route}`, {
        method,
        headers: {
          ...this.authHeaders(),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(raw !== undefined ? { 'content-type': 'application/octet-stream' } : {}),
        },
        body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
        ca: this.ca,
      });
    } catch (err) {
      throw new Error(`cannot reach the dashboard at ${this.address}: ${(err as Error).message}`);
    }
    const text = reply.body.toString('utf8');
    let value: unknown;
    try {
      value = text === '' ? undefined : JSON.parse(text);
    } catch {
      value = text;
    }
    if (reply.status < 200 || reply.status >= 300) {
      const message = (value as { error?: string } | undefined)?.error ?? String(text || reply.statusText);
      const hint =
        reply.status === 401 && !this.token ? ' (no token was sent: pass { token } or set TRAY_TOKEN)' : '';
      throw new JobApiError(reply.status, `${method} ${route}: ${reply.status} ${message}${hint}`);
    }
    return value as T;
  }

  /** Packs a local directory and uploads it unless the cluster has it; resolves its URI. */
  private async upload(dir: string, excludes: string[] | undefined, what: string): Promise<string> {
    const packed = packDirectory(path.resolve(dir), { excludes, what });
    const exists = await this.request('GET', `/api/packages/tray-pkg/${packed.hash}`).then(
      () => true,
      (err) => {
        if (err instanceof JobApiError && err.status === 404) return false;
        throw err;
      },
    );
    if (!exists)
      await this.request('PUT', `/api/packages/tray-pkg/${packed.hash}`, undefined, packed.archive);
    return packageUri(packed.hash);
  }

  private async wireRuntimeEnv(env: Record<string, unknown>): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    const excludes = env.excludes as string[] | undefined;
    for (const [k, v] of Object.entries(env)) {
      const key = RUNTIME_ENV_WIRE[k];
      if (key === undefined) {
        throw new TypeError(
          `submitJob: runtimeEnv.${k} is not a runtime env field (known: ${Object.keys(RUNTIME_ENV_WIRE).join(', ')})`,
        );
      }
      if (k === 'workingDir' && typeof v === 'string' && !v.startsWith('tray-pkg://')) {
        out[key] = await this.upload(v, excludes, 'workingDir');
      } else if (k === 'modules' && Array.isArray(v)) {
        out[key] = await Promise.all(
          v.map((m) =>
            typeof m === 'string' && !m.startsWith('tray-pkg://') ? this.upload(m, excludes, 'modules') : m,
          ),
        );
      } else {
        out[key] = v;
      }
    }
    return out;
  }

  /** Submits a job; resolves its submission id. */
  async submitJob(options: SubmitJobOptions): Promise<string> {
    if (options === null || typeof options !== 'object' || typeof options.entrypoint !== 'string') {
      throw new TypeError('submitJob: give { entrypoint: "<shell command>", ... }');
    }
    const body: Record<string, unknown> = { entrypoint: options.entrypoint };
    if (options.submissionId !== undefined) body.submission_id = options.submissionId;
    if (options.runtimeEnv !== undefined) body.runtime_env = await this.wireRuntimeEnv(options.runtimeEnv);
    if (options.metadata !== undefined) body.metadata = options.metadata;
    if (options.entrypointNumCpus !== undefined) body.entrypoint_num_cpus = options.entrypointNumCpus;
    if (options.entrypointNumGpus !== undefined) body.entrypoint_num_gpus = options.entrypointNumGpus;
    if (options.entrypointMemory !== undefined) body.entrypoint_memory = options.entrypointMemory;
    if (options.entrypointResources !== undefined) body.entrypoint_resources = options.entrypointResources;
    const reply = await this.request<{ submission_id: string }>('POST', '/api/jobs/', body);
    return reply.submission_id;
  }

  async getJobInfo(id: string): Promise<JobInfo> {
    return toInfo(await this.request<JobDetails>('GET', `/api/jobs/${encodeURIComponent(id)}`));
  }

  async getJobStatus(id: string): Promise<JobStatus> {
    return (await this.getJobInfo(id)).status;
  }

  async listJobs(): Promise<JobInfo[]> {
    return (await this.request<JobDetails[]>('GET', '/api/jobs/')).map(toInfo);
  }

  async getJobLogs(id: string): Promise<string> {
    return (await this.request<{ logs: string }>('GET', `/api/jobs/${encodeURIComponent(id)}/logs`)).logs;
  }

  /** Stops the job; resolves false if it had already ended. */
  async stopJob(id: string): Promise<boolean> {
    return (await this.request<{ stopped: boolean }>('POST', `/api/jobs/${encodeURIComponent(id)}/stop`))
      .stopped;
  }

  /** Deletes a finished job's record and log; resolves whether there was one. */
  async deleteJob(id: string): Promise<boolean> {
    return (await this.request<{ deleted: boolean }>('DELETE', `/api/jobs/${encodeURIComponent(id)}`))
      .deleted;
  }

  /** The job's log as it grows, from its start; ends when the job has ended. */
  async *tailJobLogs(id: string): AsyncGenerator<string, void, undefined> {
    const url = `${this.address.replace(/^http/, 'ws')}/api/jobs/${encodeURIComponent(id)}/logs/tail`;
    const socket = new WebSocket(url, { headers: this.authHeaders(), ...(this.ca ? { ca: this.ca } : {}) });
    const queue: string[] = [];
    let done = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    socket.on('message', (data) => {
      queue.push(String(data));
      notify();
    });
    socket.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c;
      });
      res.on('end', () => {
        let message = text;
        try {
          message = JSON.parse(text).error ?? text;
        } catch {}
        failure = new JobApiError(res.statusCode ?? 0, `tail ${id}: ${res.statusCode} ${message}`);
        done = true;
        notify();
      });
    });
    socket.on('error', (err) => {
      failure ??= new Error(`tail ${id}: ${err.message}`);
      done = true;
      notify();
    });
    socket.on('close', (code, reason) => {
      if (code !== 1000 && code !== 1005)
        failure ??= new Error(`tail ${id}: closed (${code}) ${String(reason)}`);
      done = true;
      notify();
    });
    try {
      for (;;) {
        if (queue.length > 0) {
          yield queue.shift()!;
          continue;
        }
        if (done) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      if (failure) throw failure;
    } finally {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)
        socket.terminate();
    }
  }
}
