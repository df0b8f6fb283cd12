// Ray's Jobs REST API as the page uses it: list, detail, submit, stop, logs, and the live log
// tail over the WebSocket GET /api/jobs/{id}/logs/tail (the browser sends the session cookie
// with the upgrade request; no token goes into the URL).
import { getJson, getText, postJson } from './api.js';

export type JobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['STOPPED', 'SUCCEEDED', 'FAILED']);

/** Ray's JobDetails, as far as the page shows it. */
export interface JobDetails {
  job_id?: string | null;
  submission_id?: string | null;
  type?: string;
  status?: JobStatus | string;
  entrypoint?: string;
  message?: string | null;
  error_type?: string | null;
  start_time?: number | null;
  end_time?: number | null;
  metadata?: Record<string, string> | null;
  runtime_env?: Record<string, unknown> | null;
  driver_exit_code?: number | null;
  driver_node_id?: string | null;
  entrypoint_num_cpus?: number | null;
  entrypoint_num_gpus?: number | null;
  entrypoint_resources?: Record<string, number> | null;
}

export interface SubmitRequest {
  entrypoint: string;
  submission_id?: string;
  runtime_env?: Record<string, unknown>;
  metadata?: Record<string, string>;
  entrypoint_num_cpus?: number;
  entrypoint_num_gpus?: number;
  entrypoint_memory?: number;
  entrypoint_resources?: Record<string, number>;
}

/** The id a job's routes take: its submission id when it has one (Ray accepts both). */
export function jobKey(job: JobDetails): string {
  return String(job.submission_id ?? job.job_id ?? '');
}

export async function listJobs(): Promise<JobDetails[]> {
  const body = await getJson<unknown>('/api/jobs/');
  // Ray answers a list; its older servers answered an object keyed by id.
  if (Array.isArray(body)) return body as JobDetails[];
  if (body && typeof body === 'object') {
    return Object.entries(body as Record<string, JobDetails>).map(([id, job]) => ({
      submission_id: id,
      ...job,
    }));
  }
  throw new Error('/api/jobs/: the reply is neither a list nor an object of jobs');
}

export function getJob(id: string): Promise<JobDetails> {
  return getJson<JobDetails>(`/api/jobs/${encodeURIComponent(id)}`);
}

export async function submitJob(req: SubmitRequest): Promise<{ job_id?: string; submission_id: string }> {
  const reply = await postJson<{ job_id?: string; submission_id?: string }>('/api/jobs/', req);
  const id = reply.submission_id ?? reply.job_id;
  if (!id) throw new Error('POST /api/jobs/: the reply names no submission_id');
  return { ...reply, submission_id: id };
}

export async function stopJob(id: string): Promise<boolean> {
  const reply = await postJson<{ stopped?: boolean }>(`/api/jobs/${encodeURIComponent(id)}/stop`, {});
  return reply.stopped === true;
}

export async function jobLogs(id: string): Promise<string> {
  const text = await getText(`/api/jobs/${encodeURIComponent(id)}/logs`);
  try {
    const body = JSON.parse(text);
    if (body && typeof body.logs === 'string') return body.logs;
  } catch {
    // a plain-text reply is the log itself
  }
  return text;
}

/**
 * Follows a job's log: `onChunk` gets each text message of the WebSocket as it arrives, `onEnd`
 * is called once when the server closes the stream (the job ended) or it fails. Returns a
 * function that closes it.
 */
export function tailJobLogs(
  id: string,
  onChunk: (text: string) => void,
  onEnd: (reason: { clean: boolean; code: number; message: string }) => void,
): () => void {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${location.host}/api/jobs/${encodeURIComponent(id)}/logs/tail`);
  let ended = false;
  const end = (reason: { clean: boolean; code: number; message: string }) => {
    if (ended) return;
    ended = true;
    onEnd(reason);
  };
  socket.onmessage = async (event) => {
    const data = event.data;
    onChunk(typeof data === 'string' ? data : await (data as Blob).text());
  };
  socket.onerror = () => end({ clean: false, code: 0, message: 'the log stream failed' });
  socket.onclose = (event) => end({ clean: event.wasClean, code: event.code, message: event.reason });
  return () => {
    ended = true;
    socket.close();
  };
}
