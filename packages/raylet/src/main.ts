// The raylet as a child process (docs/processes.md): options come as JSON in
// TRAY_DAEMON_OPTIONS; when serving, it sends one IPC message {type:'ready', nodeId,
// socketPath, storeSocketPath, grpcPort, framedPort, metricsPort} (or {type:'error', message} and exits 1). It stops —
// killing its workers — when its IPC channel disconnects (the parent died), on SIGTERM/SIGINT,
// or on ShutdownRaylet.

import { rmSync } from 'node:fs';
import { sendToParent } from '@tray/protocol';
import { type Raylet, startRaylet } from './raylet.js';

/** The session directory to remove on exit (options.removeSessionOnExit), if any. */
let sessionToRemove: string | undefined;

function removeSession(): void {
  if (sessionToRemove === undefined || process.env.TRAY_KEEP_SESSION) return;
  try {
    rmSync(sessionToRemove, { recursive: true, force: true });
  } catch {}
}

async function main(): Promise<void> {
  let raylet: Raylet | undefined;
  let exiting = false;
  const exit = async (code: number) => {
    if (exiting) return;
    exiting = true;
    const force = setTimeout(() => {
      removeSession();
      process.exit(code);
    }, 3000);
    force.unref();
    try {
      await raylet?.stop('the raylet process is exiting');
    } finally {
      removeSession();
      process.exit(code);
    }
  };
  process.on('disconnect', () => void exit(0));
  process.on('SIGTERM', () => void exit(0));
  process.on('SIGINT', () => void exit(0));
  if (process.send && !process.connected) return void exit(0);

  let options: unknown;
  try {
    options = JSON.parse(process.env.TRAY_DAEMON_OPTIONS ?? '');
  } catch {
    void sendToParent({ type: 'error', message: 'TRAY_DAEMON_OPTIONS must hold the raylet options as JSON' });
    return void exit(1);
  }
  const o = options as Parameters<typeof startRaylet>[0];
  if (o?.removeSessionOnExit === true && typeof o.sessionDir === 'string') sessionToRemove = o.sessionDir;
  try {
    raylet = await startRaylet(o);
  } catch (err) {
    void sendToParent({ type: 'error', message: (err as Error).message });
    return void exit(1);
  }
  if (exiting) return void raylet.stop();
  raylet.stopped.then(() => void exit(0));
  void sendToParent({
    type: 'ready',
    nodeId: raylet.nodeId,
    socketPath: raylet.socketPath,
    storeSocketPath: raylet.storeSocketPath,
    grpcPort: raylet.grpcPort,
    framedPort: raylet.framedPort,
    metricsPort: raylet.metricsPort,
  });
}

void main();
