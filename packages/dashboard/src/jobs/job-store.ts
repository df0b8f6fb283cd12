// Where jobs live: the GCS's internal KV, namespace `jobs`, key `info:<submission id>`, one JSON
// record each — so they outlive the dashboard process (a restarted one reads them back) and the
// supervisor actor, wherever it runs, updates its job's record itself. An update never replaces
// a terminal status (the supervisor's SUCCEEDED must not be undone by a late RUNNING).
import type { GcsClient } from '@tray/gcs';
import { isTerminal, type StoredJob } from './job-info.js';

export const JOBS_KV_NAMESPACE = 'jobs';
const PREFIX = 'info:';

type Kv = Pick<GcsClient, 'kvGet' | 'kvPut' | 'kvDel' | 'kvKeys'>;

export class JobStore {
  constructor(readonly gcs: Kv & Pick<GcsClient, 'getAllJobInfo'>) {}

  async get(id: string): Promise<StoredJob | undefined> {
    const raw = await this.gcs.kvGet(JOBS_KV_NAMESPACE, PREFIX + id);
    return raw === undefined ? undefined : (JSON.parse(Buffer.from(raw).toString('utf8')) as StoredJob);
  }

  /** Stores a new job; false (nothing written) if the id is taken. */
  async create(job: StoredJob): Promise<boolean> {
    return this.gcs.kvPut(JOBS_KV_NAMESPACE, PREFIX + job.submission_id, JSON.stringify(job), false);
  }

  /** Applies `change` unless the job is gone or already terminal; resolves the record after. */
  async update(id: string, change: Partial<StoredJob>): Promise<StoredJob | undefined> {
    const job = await this.get(id);
    if (job === undefined) return undefined;
    if (isTerminal(job.status)) return job;
    const next = { ...job, ...change };
    await this.gcs.kvPut(JOBS_KV_NAMESPACE, PREFIX + id, JSON.stringify(next));
    return next;
  }

  async list(): Promise<StoredJob[]> {
    const keys = await this.gcs.kvKeys(JOBS_KV_NAMESPACE, PREFIX);
    const jobs = await Promise.all(
      keys.map((k) => this.get(Buffer.from(k).toString('utf8').slice(PREFIX.length))),
    );
    return jobs
      .filter((j): j is StoredJob => j !== undefined)
      .sort((a, b) => (a.start_time ?? 0) - (b.start_time ?? 0));
  }

  async delete(id: string): Promise<boolean> {
    return (await this.gcs.kvDel(JOBS_KV_NAMESPACE, PREFIX + id)) > 0;
  }
}
