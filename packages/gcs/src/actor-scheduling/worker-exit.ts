// Words for how an actor's worker process ended, from the raylet that ran it: GetNodeStats lists
// the node's newest worker deaths with exit code or signal. The connection to a worker usually
// closes a moment before its exit is known, so the raylet is asked a few times.
import { NodeManagerService, type TrayGrpcClient } from '@tray/protocol';
import { bytesKey } from '../storage/storage.js';

const ATTEMPTS = 10;
const INTERVAL_MS = 100;

export async function describeWorkerExit(raylet: TrayGrpcClient, workerId: Uint8Array): Promise<string> {
  const key = bytesKey(workerId);
  let reason = '';
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      const stats = await raylet.call(NodeManagerService.GetNodeStats, {}, { deadlineMs: 2000, retries: 0 });
      const exit = stats.deadWorkers.find((d) => bytesKey(d.workerId) === key);
      if (exit) {
        reason = exit.reason ?? '';
        if (exit.signal) return `its worker process (pid ${exit.pid}) was killed by signal ${exit.signal}`;
        if (exit.hasExitCode) return `its worker process (pid ${exit.pid}) exited with code ${exit.exitCode}`;
      }
    } catch {
      break; // the raylet itself is gone (its node died)
    }
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS).unref());
  }
  return `its worker process died${reason ? ` (${reason})` : ''}`;
}
