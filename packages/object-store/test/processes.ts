// Real processes for the multi-process tests: a store server and store clients as forked
// fixture scripts, driven over IPC (tests wait on conditions with @tray/test-support's waitFor).
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export class Proc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.on('message', (msg: any) => {
      const entry = this.pending.get(msg.reqId);
      if (!entry) return;
      this.pending.delete(msg.reqId);
      if (msg.error) {
        const err = new Error(msg.error.message);
        err.name = msg.error.name;
        entry.reject(err);
      } else entry.resolve(msg.result);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.once('exit', () => {
      for (const entry of this.pending.values()) entry.reject(new Error('process exited'));
      this.pending.clear();
    });
  }

  call<T = any>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const reqId = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(reqId, { resolve, reject });
      this.child.send({ reqId, op, ...args });
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.child.kill(signal);
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.disconnect();
    await this.exited;
  }
}

function spawn(script: string, args: string[]): Promise<{ proc: Proc; hello: any }> {
  const child = fork(path.join(fixtures, script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (hello: any) => resolve({ proc: new Proc(child), hello }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
}

export interface ServerProc {
  proc: Proc;
  socketPath: string;
  segmentPath: string;
  fallbackToDisk: boolean;
  warnings: string[];
  dir: string;
  stats(): Promise<any>;
  stop(): Promise<void>;
}

export async function startServer(options: Record<string, unknown> = {}): Promise<ServerProc> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-store-test-'));
  const socketPath = path.join(dir, 'store.sock');
  const { proc, hello } = await spawn('store-server.mjs', [
    JSON.stringify({ socketPath, capacity: 64 << 20, spillDir: path.join(dir, 'spill'), ...options }),
  ]);
  return {
    proc,
    socketPath,
    dir,
    segmentPath: hello.segmentPath,
    fallbackToDisk: hello.fallbackToDisk,
    warnings: hello.warnings,
    stats: () => proc.call('stats'),
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startClient(socketPath: string): Promise<Proc> {
  return (await spawn('store-client.mjs', [socketPath])).proc;
}

/** A 28-byte object id as hex: `tag` in the first bytes, `n` in the last four. */
export function hexId(tag: number, n: number): string {
  const id = Buffer.alloc(28);
  id.writeUInt32BE(tag, 0);
  id.writeUInt32BE(n, 24);
  return id.toString('hex');
}
