// Test fixture: a parent that forks the GCS (argv[2]: its main script), reports the GCS's pid
// and address to its own parent over IPC, then idles until it is killed.
import { fork } from 'node:child_process';

const gcs = fork(process.argv[2], [], {
  env: { ...process.env, TRAY_DAEMON_OPTIONS: JSON.stringify({ token: 'fixture-token' }) },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
gcs.once('message', (message) => {
  process.send({ gcsPid: gcs.pid, ...message });
});
setInterval(() => {}, 60_000);
