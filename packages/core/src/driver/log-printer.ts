// log_to_driver: lines the job's workers printed, written to the driver's own stdout or stderr
// with Ray's prefix, `(square pid=1234) hello`.
import type { tray } from '@tray/protocol';

export function printWorkerLogs(batch: tray.v1.WorkerLogLines): void {
  if (batch.lines.length === 0) return;
  const prefix = `(${batch.taskName || 'worker'} pid=${batch.pid}) `;
  let text = '';
  for (const line of batch.lines) text += `${prefix}${line}\n`;
  (batch.isErr ? process.stderr : process.stdout).write(text);
}
