// What workers print: each worker's stdout and stderr are cut into complete lines, appended to
// `<sessionDir>/logs/worker-<pid>.out|.err`, and forwarded to the driver of the job the worker
// runs (or last ran) a task for, as one-way NodeManagerService.PublishLogs messages batched per
// tick (Ray's log_to_driver). A line still incomplete when the worker exits is flushed then.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { type Connection, NodeManagerService } from '@tray/protocol';
import type { WorkerProcess } from './worker-pool.js';

/** Longest line kept whole; longer output is cut into pieces of this size. */
const MAX_LINE = 64 * 1024;

interface Batch {
  worker: WorkerProcess;
  isErr: boolean;
  lines: string[];
}

export class WorkerLogs {
  /** Job id (hex) → the connections of its drivers on this node. */
  private readonly drivers = new Map<string, Set<Connection>>();
  private readonly batches = new Map<string, Batch>();
  private flushScheduled = false;
  private readonly files = new Set<WriteStream>();
  private readonly logDir: string;

  constructor(
    sessionDir: string,
    private readonly forward: boolean,
  ) {
    this.logDir = path.join(sessionDir, 'logs');
    mkdirSync(this.logDir, { recursive: true });
  }

  addDriver(jobId: Buffer, connection: Connection): void {
    const key = jobId.toString('hex');
    let set = this.drivers.get(key);
    if (set === undefined) this.drivers.set(key, (set = new Set()));
    set.add(connection);
    connection.on('close', () => {
      set.delete(connection);
      if (set.size === 0 && this.drivers.get(key) === set) this.drivers.delete(key);
    });
  }

  /** Start reading a freshly spawned worker's output. */
  attach(worker: WorkerProcess): void {
    const pid = worker.pid;
    this.follow(worker, worker.child.stdout, path.join(this.logDir, `worker-${pid}.out`), false);
    this.follow(worker, worker.child.stderr, path.join(this.logDir, `worker-${pid}.err`), true);
  }

  private follow(
    worker: WorkerProcess,
    stream: NodeJS.ReadableStream | null,
    file: string,
    isErr: boolean,
  ): void {
    if (stream === null) return;
    const out = createWriteStream(file, { flags: 'a' });
    out.on('error', () => {});
    out.on('close', () => this.files.delete(out));
    this.files.add(out);
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      out.write(chunk);
      const text = partial + chunk;
      const parts = text.split('\n');
      partial = parts.pop()!;
      while (partial.length > MAX_LINE) {
        parts.push(partial.slice(0, MAX_LINE));
        partial = partial.slice(MAX_LINE);
      }
      if (parts.length > 0) this.queue(worker, isErr, parts);
    });
    stream.on('end', () => {
      if (partial.length > 0) this.queue(worker, isErr, [partial]);
      partial = '';
      out.end();
    });
  }

  private queue(worker: WorkerProcess, isErr: boolean, lines: string[]): void {
    if (!this.forward) return;
    const key = `${worker.pid}:${isErr ? 'e' : 'o'}`;
    let batch = this.batches.get(key);
    if (batch === undefined) this.batches.set(key, (batch = { worker, isErr, lines: [] }));
    for (const line of lines) batch.lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const batches = [...this.batches.values()];
    this.batches.clear();
    for (const { worker, isErr, lines } of batches) {
      const jobId = worker.jobId;
      if (jobId === undefined) continue; // never leased: the log file has it
      const drivers = this.drivers.get(jobId.toString('hex'));
      if (drivers === undefined) continue;
      for (const driver of drivers) {
        driver.notify(NodeManagerService.PublishLogs, {
          jobId,
          pid: worker.pid,
          isErr,
          lines,
          taskName: worker.taskName,
        });
      }
    }
  }

  /** Flush what is batched and close every log file; resolves when they are closed. */
  async close(): Promise<void> {
    this.flush();
    await Promise.all(
      [...this.files].map(
        (file) =>
          new Promise<void>((resolve) => {
            file.once('close', resolve);
            file.end();
          }),
      ),
    );
  }
}
