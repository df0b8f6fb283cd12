// Task events (TaskInfoGcsService): the state changes workers report for `tray list tasks`,
// `tray timeline` and the dashboard. Kept in memory, at most `maxPerJob` per job: when a job's
// buffer is full its oldest event is dropped and counted, so memory stays bounded however
// many tasks run. Not persisted (Ray's GCS does not persist them either).
import { checkId, IdBytes, invalidArgument, type tray } from '@tray/protocol';
import { bytesKey } from '../storage/storage.js';

interface JobEvents {
  events: tray.v1.ITaskEvent[];
  /** Index of the oldest event: the buffer is a ring once full. */
  head: number;
  dropped: number;
}

export class TaskEventBuffer {
  private readonly jobs = new Map<string, JobEvents>();

  constructor(readonly maxPerJob = 10_000) {
    if (!Number.isInteger(maxPerJob) || maxPerJob <= 0) {
      throw new RangeError(`maxTaskEventsPerJob must be a positive integer, got ${maxPerJob}`);
    }
  }

  add(request: tray.v1.AddTaskEventDataRequest): void {
    request.events.forEach((event, i) => {
      checkId(event.taskId, IdBytes.task, `events[${i}].task_id`);
      checkId(event.jobId, IdBytes.job, `events[${i}].job_id`);
      checkId(event.actorId, IdBytes.actor, `events[${i}].actor_id`, true);
    });
    for (const event of request.events) {
      const key = bytesKey(event.jobId);
      let job = this.jobs.get(key);
      if (!job) this.jobs.set(key, (job = { events: [], head: 0, dropped: 0 }));
      if (job.events.length < this.maxPerJob) {
        job.events.push(event);
      } else {
        job.events[job.head] = event;
        job.head = (job.head + 1) % this.maxPerJob;
        job.dropped += 1;
      }
    }
  }

  /** Events of one job (or all jobs when `jobId` is empty), oldest first, at most `limit` (0: all). */
  get(request: tray.v1.GetTaskEventsRequest): { events: tray.v1.ITaskEvent[]; numDropped: number } {
    checkId(request.jobId, IdBytes.job, 'job_id', true);
    if (request.limit < 0) throw invalidArgument(`limit must be >= 0, got ${request.limit}`);
    const jobs =
      request.jobId.length > 0
        ? [this.jobs.get(bytesKey(request.jobId))].filter((j): j is JobEvents => j !== undefined)
        : [...this.jobs.values()];
    let events: tray.v1.ITaskEvent[] = [];
    let numDropped = 0;
    for (const job of jobs) {
      events = events.concat(job.events.slice(job.head), job.events.slice(0, job.head));
      numDropped += job.dropped;
    }
    if (request.limit > 0 && events.length > request.limit)
      events = events.slice(events.length - request.limit);
    return { events, numDropped };
  }
}
