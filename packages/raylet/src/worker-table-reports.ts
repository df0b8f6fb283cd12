// The node's processes in the GCS's worker table (WorkerInfoGcsService): each worker and driver is
// added when it registers here (Ray's core worker adds itself; here the raylet, which knows the
// pid and job, does it for them), and its death is reported with how it ended (Ray's raylet
// ReportWorkerFailure on a disconnect): the exit type and a detail naming the exit code or signal.
// A worker's exit code or signal is often known only a moment after its connection closed, so a
// death waits for the process's exit (at most EXIT_WAIT_MS) before it is reported. The calls of
// one process go out in order (added before dead); none is awaited by the raylet's own work, and
// a GCS that is away loses them (the dashboard also reads the raylets' own lists).
import {
  createGrpcClient,
  ErrorType,
  type Message,
  type MethodDef,
  type TrayGrpcClient,
  tray,
  WorkerInfoGcsService,
} from '@tray/protocol';
import type { Driver } from './node-manager-service.js';
import type { WorkerExit, WorkerProcess } from './worker-pool.js';

const ExitType = tray.v1.WorkerExitType;
const EXIT_WAIT_MS = 3000;
const CALL_DEADLINE_MS = 10_000;

/** Reasons of the raylet's own kills that the worker's owner asked for. */
const ASKED_BY_OWNER = new Set(['its owner asked to disconnect it', 'its actor lease was returned']);
/** Reasons the pool gives when it did not stop the worker itself. */
const NOT_BY_RAYLET = new Set(['process exited', 'its raylet connection closed', 'could not be spawned']);

export interface WorkerExitReport {
  exitType: tray.v1.WorkerExitType;
  /** Shown in the worker table (exit_detail.message). */
  message: string;
  /** How the process ended, in the words an actor's death cause uses (exit_detail.reason). */
  how: string;
}

/** The exit type and words for a worker process's end as its raylet saw it. */
export function describeExit(pid: number, exit: WorkerExit): WorkerExitReport {
  const how =
    exit.signal !== null
      ? `its worker process (pid ${pid}) was killed by signal ${exit.signal}`
      : exit.code !== null
        ? `its worker process (pid ${pid}) exited with code ${exit.code}`
        : `its worker process (pid ${pid}) died (${exit.reason})`;
  const byRaylet = !NOT_BY_RAYLET.has(exit.reason);
  let exitType: tray.v1.WorkerExitType;
  if (exit.code === 0) exitType = ExitType.INTENDED_USER_EXIT;
  else if (exit.cause?.type === ErrorType.OUT_OF_MEMORY) exitType = ExitType.NODE_OUT_OF_MEMORY;
  else if (ASKED_BY_OWNER.has(exit.reason)) exitType = ExitType.INTENDED_USER_EXIT;
  else if (byRaylet) exitType = ExitType.INTENDED_SYSTEM_EXIT;
  else exitType = ExitType.SYSTEM_ERROR;
  const ended =
    exit.signal !== null
      ? `killed by signal ${exit.signal}`
      : exit.code !== null
        ? `exit code ${exit.code}`
        : '';
  const message = byRaylet
    ? `the raylet stopped it: ${exit.reason}${ended ? ` (${ended})` : ''}`
    : ended
      ? `the worker process (pid ${pid}) ended: ${ended}`
      : `the worker process (pid ${pid}) is gone: ${exit.reason}`;
  return { exitType, message, how };
}

export class WorkerTableReports {
  private readonly client: TrayGrpcClient;
  /** Per process (hex worker id), the last call sent: the next one follows it. */
  private readonly tails = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    gcsAddress: string,
    token: string,
    private readonly node: { nodeId: Buffer; ip: string },
    private readonly log: (message: string) => void,
  ) {
    this.client = createGrpcClient(gcsAddress, { token });
  }

  workerRegistered(worker: WorkerProcess): void {
    this.send(worker.idHex, () =>
      this.call(WorkerInfoGcsService.AddWorkerInfo, {
        worker: {
          ...this.row(worker.workerId, worker.pid, worker.jobId, false),
          address: {
            ip: this.node.ip,
            ...worker.address,
            workerId: worker.workerId,
            nodeId: this.node.nodeId,
          },
          startTimeMs: Date.now(),
        },
      }),
    );
  }

  workerDied(worker: WorkerProcess): void {
    if (worker.address === undefined) return; // never registered: never added
    const exited = worker.child.exitCode !== null || worker.child.signalCode !== null;
    const exit = exited
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, EXIT_WAIT_MS);
          timer.unref();
          worker.child.once('exit', () => {
            clearTimeout(timer);
            // The pool's own exit listener (registered first) has filled in code and signal.
            resolve();
          });
        });
    this.send(worker.idHex, async () => {
      await exit;
      const report = describeExit(worker.pid, worker.exit ?? { code: null, signal: null, reason: 'unknown' });
      await this.call(WorkerInfoGcsService.ReportWorkerFailure, {
        worker: {
          ...this.row(worker.workerId, worker.pid, worker.jobId, false),
          actorId: worker.actorId ?? new Uint8Array(0),
          endTimeMs: worker.exitedAt ?? Date.now(),
          exitType: report.exitType,
          exitDetail: {
            type: report.exitType === ExitType.SYSTEM_ERROR ? ErrorType.WORKER_DIED : ErrorType.ERROR_UNKNOWN,
            message: report.message,
            reason: report.how,
          },
        },
      });
    });
  }

  driverRegistered(driver: Driver): void {
    this.send(driver.workerId.toString('hex'), () =>
      this.call(WorkerInfoGcsService.AddWorkerInfo, {
        worker: { ...this.row(driver.workerId, driver.pid, driver.jobId, true), startTimeMs: Date.now() },
      }),
    );
  }

  /** The driver's connection closed (the GCS calls it intended if the driver ended its job first). */
  driverGone(driver: Driver): void {
    this.send(driver.workerId.toString('hex'), () =>
      this.call(WorkerInfoGcsService.ReportWorkerFailure, {
        worker: {
          ...this.row(driver.workerId, driver.pid, driver.jobId, true),
          endTimeMs: Date.now(),
          exitType: ExitType.SYSTEM_ERROR,
          exitDetail: {
            type: ErrorType.WORKER_DIED,
            message: `the driver (pid ${driver.pid}) disconnected from its raylet without ending its job`,
            reason: `the driver process (pid ${driver.pid}) died`,
          },
        },
      }),
    );
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }

  private row(
    workerId: Buffer,
    pid: number,
    jobId: Buffer | undefined,
    isDriver: boolean,
  ): tray.v1.IWorkerTableData {
    return {
      address: { workerId, nodeId: this.node.nodeId, ip: this.node.ip },
      pid,
      jobId: jobId ?? new Uint8Array(0),
      isDriver,
    };
  }

  private call<Req, Res>(method: MethodDef<Req, Res>, request: Message<Req>): Promise<Res> {
    return this.client.call(method, request, { deadlineMs: CALL_DEADLINE_MS });
  }

  private send(key: string, call: () => Promise<unknown>): void {
    if (this.closed) return;
    const next = (this.tails.get(key) ?? Promise.resolve())
      .then(() => (this.closed ? undefined : call()))
      .then(
        () => {},
        (err: Error) => {
          if (!this.closed) this.log(`tray raylet: the worker table was not told of ${key}: ${err.message}`);
        },
      )
      .finally(() => {
        if (this.tails.get(key) === next) this.tails.delete(key);
      });
    this.tails.set(key, next);
  }
}
