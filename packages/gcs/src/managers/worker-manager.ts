// The worker table (WorkerInfoGcsService): workers and drivers recorded as they start, and
// their deaths as raylets report them. A death is published on WORKER_FAILURE_CHANNEL keyed by
// worker id; owners use it to fail their objects and the job manager to end a dead driver's job.
import { checkId, IdBytes, requireMessage, tray } from '@tray/protocol';
import { Channel, type Publisher } from '../pubsub.js';
import { PersistedTable } from '../storage/persisted-table.js';
import { bytesKey, type GcsStorage, Tables } from '../storage/storage.js';

type WorkerTableData = tray.v1.WorkerTableData;

export type WorkerDeadListener = (worker: WorkerTableData) => void;

export class WorkerManager {
  private readonly table: PersistedTable<WorkerTableData>;
  private readonly deadListeners: WorkerDeadListener[] = [];

  constructor(
    storage: GcsStorage,
    private readonly publisher: Publisher,
  ) {
    this.table = new PersistedTable<WorkerTableData>(storage, Tables.workers, tray.v1.WorkerTableData);
  }

  load(): Promise<void> {
    return this.table.load();
  }

  onWorkerDead(listener: WorkerDeadListener): void {
    this.deadListeners.push(listener);
  }

  async addWorkerInfo(request: tray.v1.AddWorkerInfoRequest): Promise<void> {
    const worker = this.validate(request.worker);
    const row = tray.v1.WorkerTableData.create({
      ...worker,
      isAlive: true,
      startTimeMs: worker.startTimeMs || Date.now(),
    });
    await this.table.set(bytesKey(row.address!.workerId!), row);
  }

  async reportWorkerFailure(request: tray.v1.ReportWorkerFailureRequest): Promise<void> {
    const worker = this.validate(request.worker);
    const key = bytesKey(worker.address!.workerId!);
    const known = this.table.get(key);
    if (known && !known.isAlive) return; // reported already: idempotent
    const row = tray.v1.WorkerTableData.create({
      ...known,
      ...worker,
      isAlive: false,
      endTimeMs: worker.endTimeMs || Date.now(),
      isDriver: worker.isDriver || (known?.isDriver ?? false),
    });
    await this.table.set(key, row);
    this.publisher.publish({
      channel: Channel.WORKER_FAILURE_CHANNEL,
      key: row.address!.workerId!,
      worker: row,
    });
    for (const listener of this.deadListeners) listener(row);
  }

  getAll(): WorkerTableData[] {
    return [...this.table.values()];
  }

  private validate(worker: tray.v1.IWorkerTableData | null | undefined): WorkerTableData {
    const w = tray.v1.WorkerTableData.create(requireMessage(worker, 'worker'));
    const address = requireMessage(w.address, 'worker.address');
    checkId(address.workerId, IdBytes.worker, 'worker.address.worker_id');
    checkId(address.nodeId, IdBytes.node, 'worker.address.node_id', true);
    checkId(w.jobId, IdBytes.job, 'worker.job_id', true);
    return w;
  }
}
