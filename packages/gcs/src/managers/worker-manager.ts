// The worker table (WorkerInfoGcsService): workers and drivers recorded as their raylets see
// them register, and their deaths as the raylets report them (with the exit type and how the
// process ended). A death is published on WORKER_FAILURE_CHANNEL keyed by worker id; owners use
// it to fail their objects and the job manager to end a dead driver's job. As Ray's
// maximum_gcs_dead_worker_cached_count (default 100,000), only the newest dead workers are kept:
// past the limit the one that died first is deleted (also from storage), so a long run with
// worker churn does not grow the GCS without end. Live workers are never dropped.
import { checkId, checkString, IdBytes, invalidArgument, requireMessage, tray } from '@tray/protocol';
import { Channel, type Publisher } from '../pubsub.js';
import { PersistedTable } from '../storage/persisted-table.js';
import { bytesKey, type GcsStorage, Tables } from '../storage/storage.js';

type WorkerTableData = tray.v1.WorkerTableData;
const ExitType = tray.v1.WorkerExitType;

export type WorkerDeadListener = (worker: WorkerTableData) => void;

const MAX_DETAIL_CHARS = 4096;

/** Ray's maximum_gcs_dead_worker_cached_count. */
export const DEFAULT_MAX_DEAD_WORKERS = 100_000;

export class WorkerManager {
  private readonly table: PersistedTable<WorkerTableData>;
  private readonly deadListeners: WorkerDeadListener[] = [];
  /** Keys of the dead rows, in the order they died (a Set iterates in insertion order). */
  private readonly deadOrder = new Set<string>();
  /** Whether a job was marked finished (the job manager's answer). */
  jobFinished: ((jobId: Uint8Array) => boolean) | undefined;

  constructor(
    storage: GcsStorage,
    private readonly publisher: Publisher,
    private readonly maxDeadWorkers = DEFAULT_MAX_DEAD_WORKERS,
  ) {
    if (!Number.isInteger(maxDeadWorkers) || maxDeadWorkers < 1)
      throw new RangeError(`maxDeadWorkers must be a whole number ≥ 1, got ${maxDeadWorkers}`);
    this.table = new PersistedTable<WorkerTableData>(storage, Tables.workers, tray.v1.WorkerTableData);
  }

  /** Reads the table back; a restarted GCS re-applies the limit to what storage held. */
  async load(): Promise<void> {
    await this.table.load();
    this.deadOrder.clear();
    const dead = [...this.table.entries()]
      .filter(([, w]) => !w.isAlive)
      .sort(([, a], [, b]) => Number(a.endTimeMs) - Number(b.endTimeMs));
    for (const [key] of dead) this.deadOrder.add(key);
    await this.evict();
  }

  onWorkerDead(listener: WorkerDeadListener): void {
    this.deadListeners.push(listener);
  }

  async addWorkerInfo(request: tray.v1.AddWorkerInfoRequest): Promise<void> {
    const worker = this.validate(request.worker);
    const key = bytesKey(worker.address!.workerId!);
    // A late registration must not bring a worker whose death was reported back to life.
    if (this.table.get(key)?.isAlive === false) return;
    const row = tray.v1.WorkerTableData.create({
      ...worker,
      isAlive: true,
      startTimeMs: worker.startTimeMs || Date.now(),
    });
    await this.table.set(key, row);
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
    // A raylet sees only a driver's connection close; a driver that ended its job first
    // (tray.shutdown) meant to go.
    if (row.isDriver && row.exitType === ExitType.SYSTEM_ERROR && this.jobFinished?.(row.jobId)) {
      row.exitType = ExitType.INTENDED_USER_EXIT;
      row.exitDetail = tray.v1.ErrorInfo.create({ message: 'the driver ended its job and disconnected' });
    }
    await this.table.set(key, row);
    this.deadOrder.add(key);
    await this.evict();
    this.publisher.publish({
      channel: Channel.WORKER_FAILURE_CHANNEL,
      key: row.address!.workerId!,
      worker: row,
    });
    for (const listener of this.deadListeners) listener(row);
  }

  /**
   * A node died: its processes that were alive in the table are dead too (its raylet cannot say
   * so any more). The actor and job managers learn of the node's death on their own.
   */
  async nodeDied(nodeId: Uint8Array, reason: string): Promise<void> {
    const node = bytesKey(nodeId);
    const endTimeMs = Date.now();
    for (const [key, w] of [...this.table.entries()]) {
      if (!w.isAlive || bytesKey(w.address?.nodeId) !== node) continue;
      const row = tray.v1.WorkerTableData.create({
        ...w,
        isAlive: false,
        endTimeMs,
        exitType: ExitType.SYSTEM_ERROR,
        exitDetail: { type: tray.v1.ErrorType.NODE_DIED, message: `its node died (${reason})`, reason },
      });
      await this.table.set(key, row);
      this.deadOrder.add(key);
    }
    await this.evict();
  }

  getAll(): WorkerTableData[] {
    return [...this.table.values()];
  }

  /** Deletes the longest-dead rows beyond the limit. */
  private async evict(): Promise<void> {
    for (const key of this.deadOrder) {
      if (this.deadOrder.size <= this.maxDeadWorkers) return;
      this.deadOrder.delete(key);
      await this.table.delete(key);
    }
  }

  private validate(worker: tray.v1.IWorkerTableData | null | undefined): WorkerTableData {
    const w = tray.v1.WorkerTableData.create(requireMessage(worker, 'worker'));
    const address = requireMessage(w.address, 'worker.address');
    checkId(address.workerId, IdBytes.worker, 'worker.address.worker_id');
    checkId(address.nodeId, IdBytes.node, 'worker.address.node_id', true);
    checkId(w.jobId, IdBytes.job, 'worker.job_id', true);
    checkId(w.actorId, IdBytes.actor, 'worker.actor_id', true);
    if (tray.v1.WorkerExitType[w.exitType] === undefined)
      throw invalidArgument(`worker.exit_type must be a WorkerExitType (0-4), got ${w.exitType}`);
    checkString(w.exitDetail?.message ?? '', 'worker.exit_detail.message', MAX_DETAIL_CHARS);
    return w;
  }
}
