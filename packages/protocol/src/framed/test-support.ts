// What the framed-transport tests share beyond @tray/test-support: servers and connections
// closed after each test, fresh socket paths, and the forked peer process.
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { Cleanup as BaseCleanup } from '@tray/test-support';
import type { Connection } from './connection.js';
import type { FramedServer } from './endpoint.js';

export class Cleanup extends BaseCleanup {
  server(server: FramedServer): FramedServer {
    this.add(() => server.close());
    return server;
  }
  connection(connection: Connection): Connection {
    this.add(() => connection.destroy());
    return connection;
  }
}

/** A Unix socket path in a fresh temporary directory (removed on cleanup). */
export function socketPath(cleanup: Cleanup, name = 'sock'): string {
  return join(cleanup.tempDir('tray-framed-'), name);
}

export interface PeerProcess {
  child: ChildProcess;
  address: string | { host: string; port: number };
  /** Requests the peer holds without answering, as it last reported. */
  held(): number;
}

/** Fork fixtures/kv-server.ts (through tsx) on `where` ('tcp' or a socket path). */
export function forkPeer(cleanup: Cleanup, where: string, token: string): Promise<PeerProcess> {
  const child = fork(join(import.meta.dirname, 'fixtures/kv-server.ts'), [where, token], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  cleanup.add(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let held = 0;
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`peer exited early (${code ?? signal})`)));
    child.on('message', (m: { type: string; address?: PeerProcess['address']; held?: number }) => {
      if (m.type === 'held') held = m.held!;
      if (m.type === 'ready') resolve({ child, address: m.address!, held: () => held });
    });
  });
}
