// A submitted job as Ray's Jobs API shows it (JobDetails, snake_case on the wire) and the
// checks of a submission body: what `POST /api/jobs/` accepts, with a 400 naming the bad field.
import { randomBytes } from 'node:crypto';
import { badRequest } from '../server/http-error.js';

export type JobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';
export const JOB_STATUSES: readonly JobStatus[] = ['PENDING', 'RUNNING', 'STOPPED', 'SUCCEEDED', 'FAILED'];
export const isTerminal = (status: JobStatus): boolean =>
  status === 'STOPPED' || status === 'SUCCEEDED' || status === 'FAILED';

/** JobDetails as Ray's REST API returns them (plus the entrypoint resources it was given). */
export interface JobDetails {
  type: 'SUBMISSION';
  job_id: string | null;
  submission_id: string;
  driver_info: null;
  status: JobStatus;
  entrypoint: string;
  message: string | null;
  error_type: string | null;
  /** ms since the epoch, as Ray's. */
  start_time: number | null;
  end_time: number | null;
  metadata: Record<string, string> | null;
  runtime_env: Record<string, unknown> | null;
  driver_agent_http_address: string | null;
  driver_node_id: string | null;
  driver_exit_code: number | null;
  entrypoint_num_cpus: number | null;
  entrypoint_num_gpus: number | null;
  entrypoint_memory: number | null;
  entrypoint_resources: Record<string, number> | null;
}

/** What the GCS KV holds: the details plus where the log is (never shown by the API). */
export interface StoredJob extends JobDetails {
  _log_path?: string;
  /** The entrypoint's process group while it runs (its wrapper's pid). */
  _pgid?: number;
  /** A stop was asked for: however the supervisor ends now, the job is STOPPED. */
  _stop_requested?: boolean;
}

export function publicDetails(job: StoredJob): JobDetails {
  const { _log_path, _pgid, _stop_requested, ...details } = job;
  return details;
}

export interface JobSubmission {
  entrypoint: string;
  submission_id: string;
  runtime_env: Record<string, unknown> | null;
  metadata: Record<string, string> | null;
  entrypoint_num_cpus: number;
  entrypoint_num_gpus: number;
  entrypoint_memory: number;
  entrypoint_resources: Record<string, number>;
}

const SUBMISSION_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const SUBMISSION_FIELDS = [
  'entrypoint',
  'submission_id',
  'job_id',
  'runtime_env',
  'metadata',
  'entrypoint_num_cpus',
  'entrypoint_num_gpus',
  'entrypoint_memory',
  'entrypoint_resources',
];
/** The largest entrypoint accepted (a shell command line, not a script body). */
const MAX_ENTRYPOINT = 64 * 1024;

/** A submission or job id from a URL or body: letters, digits, `_ . -`, at most 128. */
export function checkSubmissionId(id: unknown, where = 'submission_id'): string {
  if (typeof id !== 'string' || !SUBMISSION_ID.test(id)) {
    throw badRequest(
      `${where} must be 1-128 characters of letters, digits, '_', '.' and '-' (starting with a letter or digit), got ${JSON.stringify(id)?.slice(0, 140)}`,
    );
  }
  return id;
}

export function newSubmissionId(): string {
  // Ray's form (raysubmit_ + 16 characters), with tray's prefix.
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(16);
  let id = '';
  for (const b of bytes) id += alphabet[b % alphabet.length];
  return `traysubmit_${id}`;
}

function quantity(body: Record<string, unknown>, key: string): number {
  const v = body[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw badRequest(`${key} must be a non-negative number, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function parseSubmission(body: unknown): JobSubmission {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('POST /api/jobs/ takes a JSON object: {"entrypoint": "<shell command>", ...}');
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !SUBMISSION_FIELDS.includes(k));
  if (unknown.length > 0) {
    throw badRequest(`unknown field(s) ${unknown.join(', ')} (known: ${SUBMISSION_FIELDS.join(', ')})`);
  }
  if (typeof b.entrypoint !== 'string' || b.entrypoint.trim() === '') {
    throw badRequest(`entrypoint must be a non-empty shell command, got ${JSON.stringify(b.entrypoint)}`);
  }
  if (b.entrypoint.length > MAX_ENTRYPOINT) {
    throw badRequest(`entrypoint is ${b.entrypoint.length} characters, over the limit of ${MAX_ENTRYPOINT}`);
  }
  // Ray's deprecated job_id is the submission id when submission_id is not given.
  const given = b.submission_id ?? b.job_id;
  const submissionId = given === undefined || given === null ? newSubmissionId() : checkSubmissionId(given);
  let metadata: Record<string, string> | null = null;
  if (b.metadata !== undefined && b.metadata !== null) {
    if (typeof b.metadata !== 'object' || Array.isArray(b.metadata)) {
      throw badRequest('metadata must be an object of string values');
    }
    for (const [k, v] of Object.entries(b.metadata as object)) {
      if (typeof v !== 'string') throw badRequest(`metadata.${k} must be a string, got ${JSON.stringify(v)}`);
    }
    metadata = b.metadata as Record<string, string>;
  }
  let runtimeEnv: Record<string, unknown> | null = null;
  if (b.runtime_env !== undefined && b.runtime_env !== null) {
    if (typeof b.runtime_env !== 'object' || Array.isArray(b.runtime_env)) {
      throw badRequest(
        'runtime_env must be an object (e.g. {"working_dir": "tray-pkg://...", "env_vars": {}})',
      );
    }
    runtimeEnv = b.runtime_env as Record<string, unknown>;
  }
  const resources: Record<string, number> = {};
  if (b.entrypoint_resources !== undefined && b.entrypoint_resources !== null) {
    if (typeof b.entrypoint_resources !== 'object' || Array.isArray(b.entrypoint_resources)) {
      throw badRequest('entrypoint_resources must be an object of resource name → quantity');
    }
    for (const [k, v] of Object.entries(b.entrypoint_resources as object)) {
      if (k === 'CPU' || k === 'GPU' || k === 'memory') {
        throw badRequest(
          `entrypoint_resources.${k}: use entrypoint_num_cpus, entrypoint_num_gpus or entrypoint_memory`,
        );
      }
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw badRequest(`entrypoint_resources.${k} must be a non-negative number, got ${JSON.stringify(v)}`);
      }
      resources[k] = v;
    }
  }
  return {
    entrypoint: b.entrypoint,
    submission_id: submissionId,
    runtime_env: runtimeEnv,
    metadata,
    entrypoint_num_cpus: quantity(b, 'entrypoint_num_cpus'),
    entrypoint_num_gpus: quantity(b, 'entrypoint_num_gpus'),
    entrypoint_memory: quantity(b, 'entrypoint_memory'),
    entrypoint_resources: resources,
  };
}

/** Ray's runtime_env keys (snake_case) → tray's runtimeEnv options. */
const RUNTIME_ENV_KEYS: Record<string, string> = {
  working_dir: 'workingDir',
  env_vars: 'envVars',
  excludes: 'excludes',
  npm: 'npm',
  modules: 'modules',
  node_version: 'nodeVersion',
  container: 'container',
  config: 'config',
};
const UNSUPPORTED = ['pip', 'conda', 'uv', 'py_modules', 'py_executable', 'image_uri'];

/** The job's runtime_env (wire form) as tray's runtimeEnv; 400 for keys tray has no plugin for. */
export function toTrayRuntimeEnv(env: Record<string, unknown> | null): Record<string, unknown> | undefined {
  if (env === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env)) {
    if (UNSUPPORTED.includes(k)) {
      throw badRequest(
        `runtime_env.${k} is Python's; tray's runtime envs have ${Object.keys(RUNTIME_ENV_KEYS).join(', ')}`,
      );
    }
    const name = RUNTIME_ENV_KEYS[k] ?? (Object.values(RUNTIME_ENV_KEYS).includes(k) ? k : undefined);
    if (name === undefined) {
      throw badRequest(
        `runtime_env has an unknown field ${JSON.stringify(k)} (known: ${Object.keys(RUNTIME_ENV_KEYS).join(', ')})`,
      );
    }
    out[name] = v;
  }
  if (typeof out.workingDir === 'string' && !out.workingDir.startsWith('tray-pkg://')) {
    throw badRequest(
      `runtime_env.working_dir must be a package the client uploaded (tray-pkg://<hash>, PUT /api/packages/tray-pkg/<hash>), got ${JSON.stringify(out.workingDir)}: a path on the client's machine means nothing here`,
    );
  }
  return out;
}
