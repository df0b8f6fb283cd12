// The dashboard as a child process (docs/processes.md): options as JSON in TRAY_DAEMON_OPTIONS
// (DashboardOptions); answers its parent over IPC with `{ type: 'ready', host, port, url,
// portNote? }` or `{ type: 'error', message }`, and exits when the IPC channel disconnects (its
// parent died), on SIGTERM and on SIGINT, closing the server and leaving the cluster first.
import { sendToParent } from '@tray/protocol';
import { type Dashboard, type DashboardOptions, startDashboard } from './dashboard.js';

function log(message: string): void {
  process.stderr.write(`[dashboard ${new Date().toISOString()}] ${message}\n`);
}

async function fail(message: string): Promise<never> {
  log(message);
  await sendToParent({ type: 'error', message });
  process.exit(1);
}

async function main(): Promise<void> {
  const raw = process.env.TRAY_DAEMON_OPTIONS;
  if (!raw) return fail('TRAY_DAEMON_OPTIONS is not set: it must hold the dashboard options as JSON');
  let options: DashboardOptions;
  try {
    options = JSON.parse(raw);
  } catch {
    // Not the parser's message: it quotes the text, which holds the token.
    return fail('TRAY_DAEMON_OPTIONS is not valid JSON');
  }
  for (const key of ['gcsAddress', 'token', 'sessionDir'] as const) {
    if (typeof options[key] !== 'string' || options[key] === '') {
      return fail(`TRAY_DAEMON_OPTIONS.${key} must be a non-empty string`);
    }
  }

  let dashboard: Dashboard | undefined;
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${why}`);
    const forced = setTimeout(() => process.exit(0), 5000);
    forced.unref();
    await dashboard?.close().catch((err) => log(`error while closing: ${(err as Error).message}`));
    process.exit(0);
  };
  process.on('disconnect', () => void stop('the parent process went away'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (process.send && !process.connected) return stop('the parent process went away');

  try {
    dashboard = await startDashboard({ ...options, log });
  } catch (err) {
    return fail(`cannot start: ${(err as Error).message}`);
  }
  if (stopping) return;
  if (dashboard.portNote) log(dashboard.portNote);
  log(`serving on ${dashboard.url}`);
  await sendToParent({
    type: 'ready',
    host: dashboard.host,
    port: dashboard.port,
    url: dashboard.url,
    ...(dashboard.portNote ? { portNote: dashboard.portNote } : {}),
  });
}

void main();
