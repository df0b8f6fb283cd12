// The job table (JobInfoGcsService). Job ids are 4 bytes, counting from 1 in little-endian
// order (Ray's JobID::FromInt), from a durable counter so a restarted GCS never reuses one.
// A job ends when its driver says so (MarkJobFinished) or when its driver is gone: its worker
// reported dead or its node dead. Every change is published on JOB_CHANNEL keyed by job id.
import { checkId, IdBytes, notFound, requireMessage, tray } from '@tray/protocol';
import { Channel, type Publisher } from '../pubsub.js';
import { PersistedTable } from '../storage/persisted-table.js';
import { bytesKey, type GcsStorage, Tables } from '../storage/storage.js';

type JobTableData = tray.v1.JobTableData;

export type JobFinishedListener = (job: JobTableData) => void;

/** The 4-byte id of the `n`th job. */
export function jobIdFromInt(n: number): Uint8Array {
  const id = Buffer.alloc(IdBytes.job);
  id.writeUInt32LE(n);
  return id;
}

export class JobManager {
  private readonly table: PersistedTable<JobTableData>;
  private readonly finishedListeners: JobFinishedListener[] = [];

  constructor(
    private readonly storage: GcsStorage,
    private readonly publisher: Publisher,
  ) {
    this.table = new PersistedTable<JobTableData>(storage, Tables.jobs, tray.v1.JobTableData);
  }

  load(): Promise<void> {
    return this.table.load();
  }

  onJobFinished(listener: JobFinishedListener): void {
    this.finishedListeners.push(listener);
  }

  async nextJobId(): Promise<Uint8Array> {
    const n = await this.storage.increment('job_id');
    if (n > 0xffffffff) throw new Error('job ids are exhausted (2^32 jobs)');
    return jobIdFromInt(n);
  }

  async addJob(request: tray.v1.AddJobRequest): Promise<void> {
    const job = requireMessage(request.job, 'job');
    const jobId = checkId(job.jobId, IdBytes.job, 'job.job_id');
    checkId(job.driverAddress?.workerId, IdBytes.worker, 'job.driver_address.worker_id', true);
    checkId(job.driverAddress?.nodeId, IdBytes.node, 'job.driver_address.node_id', true);
    const row = tray.v1.JobTableData.create({
      ...job,
      isDead: false,
      startTimeMs: job.startTimeMs || Date.now(),
      endTimeMs: 0,
    });
    await this.table.set(bytesKey(jobId), row);
    this.publish(row);
  }

  async markFinished(request: tray.v1.MarkJobFinishedRequest): Promise<void> {
    const key = bytesKey(checkId(request.jobId, IdBytes.job, 'job_id'));
    if (!this.table.has(key)) throw notFound(`job ${key} was never added`);
    await this.finish(key);
  }

  getAll(): JobTableData[] {
    return [...this.table.values()];
  }

  get(jobId: Uint8Array): JobTableData | undefined {
    return this.table.get(bytesKey(jobId));
  }

  /** The driver with this worker id is gone: its running jobs are finished. */
  async driverDied(workerId: Uint8Array): Promise<void> {
    const dead = bytesKey(workerId);
    for (const [key, job] of this.table.entries()) {
      const driver = job.driverAddress?.workerId;
      if (!job.isDead && driver && driver.length > 0 && bytesKey(driver) === dead) await this.finish(key);
    }
  }

  /** A node died: jobs whose driver ran there are finished. */
  async nodeDied(nodeId: Uint8Array): Promise<void> {
    const dead = bytesKey(nodeId);
    for (const [key, job] of this.table.entries()) {
      const node = job.driverAddress?.nodeId;
      if (!job.isDead && node && node.length > 0 && bytesKey(node) === dead) await this.finish(key);
    }
  }

  private async finish(key: string): Promise<void> {
    const job = this.table.get(key)!;
    if (job.isDead) return;
    const row = tray.v1.JobTableData.create({ ...job, isDead: true, endTimeMs: Date.now() });
    await this.table.set(key, row);
    this.publish(row);
    for (const listener of this.finishedListeners) listener(row);
  }

  private publish(job: JobTableData): void {
    this.publisher.publish({ channel: Channel.JOB_CHANNEL, key: job.jobId, job });
  }
}
