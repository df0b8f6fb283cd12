// The GCS as a child process (docs/processes.md): options come as JSON in TRAY_DAEMON_OPTIONS;
// it answers its parent over IPC with `{ type: 'ready', address, metricsAddress }` or `{ type: 'error', message }`,
// and exits when the IPC channel disconnects (the parent died), on SIGTERM and on SIGINT,
// closing the server and its storage first.
import { sendToParent } from '@tray/protocol';
import { healthCheckFromEnv, maxDeadWorkersFromEnv, maxTaskEventsFromEnv } from './health-check-env.js';
import { type GcsServer, type GcsServerOptions, startGcsServer } from './server.js';

function log(message: string): void {
  process.stderr.write(`[gcs] ${message}\n`);
}

async function fail(message: string): Promise<never> {
  log(message);
  await sendToParent({ type: 'error', message });
  process.exit(1);
}

async function main(): Promise<void> {
  const raw = process.env.TRAY_DAEMON_OPTIONS;
  if (!raw) return fail('TRAY_DAEMON_OPTIONS is not set: it must hold the GCS options as JSON');
  let options: GcsServerOptions;
  try {
    options = JSON.parse(raw);
  } catch (err) {
    return fail(`TRAY_DAEMON_OPTIONS is not valid JSON: ${(err as Error).message}`);
  }

  let server: GcsServer | undefined;
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${why}`);
    const forced = setTimeout(() => process.exit(0), 5000);
    forced.unref();
    await server?.close().catch((err) => log(`error while closing: ${(err as Error).message}`));
    process.exit(0);
  };
  process.on('disconnect', () => void stop('the parent process went away'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // The parent may already be gone by the time we get here.
  if (process.send && !process.connected) return stop('the parent process went away');

  let healthCheck: GcsServerOptions['healthCheck'];
  let maxDeadWorkers: number | undefined;
  let maxTaskEvents: number | undefined;
  try {
    healthCheck = healthCheckFromEnv(process.env, options.healthCheck);
    maxDeadWorkers = maxDeadWorkersFromEnv(process.env, options.maxDeadWorkers);
    maxTaskEvents = maxTaskEventsFromEnv(process.env, options.maxTaskEvents);
  } catch (err) {
    return fail((err as Error).message);
  }
  try {
    server = await startGcsServer({ ...options, healthCheck, maxDeadWorkers, maxTaskEvents, log });
  } catch (err) {
    return fail(`cannot start: ${(err as Error).message}`);
  }
  if (stopping) {
    await server.close();
    return;
  }
  log(`listening on ${server.address}`);
  await sendToParent({ type: 'ready', address: server.address, metricsAddress: server.metricsAddress });
}

void main();
