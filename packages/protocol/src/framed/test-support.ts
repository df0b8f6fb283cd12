// What the framed-transport tests share: fresh socket paths, servers and connections that are
// closed after each test, a condition wait with a deadline, and the forked peer process.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from './connection.js';
import type { FramedServer } from './endpoint.js';

export class Cleanup {
  private readonly steps: (() => unknown)[] = [];
  add(step: () => unknown): void {
    this.steps.push(step);
  }
  server(server: FramedServer): FramedServer {
    this.add(() => server.close());
    return server;
  }
  connection(connection: Connection): Connection {
    this.add(() => connection.destroy());
    return connection;
  }
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step();
  }
}

/** A Unix socket path in a fresh temporary directory (removed on cleanup). */
export function socketPath(cleanup: Cleanup, name = 'sock'): string {
  const dir = mkdtempSync(join(tmpdir(), 'tray-framed-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

/** Resolve once `condition()` holds; reject when it has not by the deadline. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
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
