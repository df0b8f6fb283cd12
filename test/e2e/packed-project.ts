// A user's project outside the repository, for packed-install.test.ts: the @tray tarballs as
// `npm pack` makes them (tools/pack/pack.mjs), a fresh directory in os.tmpdir() with its own
// package.json, a plain `npm install` of tarballs into it, and commands run there with an
// environment that carries nothing of the repository (no npm_* variables of the running npm
// script, no NODE_PATH) and a private TMPDIR. Every process that got that TMPDIR is found by
// pid in /proc and killed in cleanup, whatever the test did.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processesWithEnv } from '@tray/test-support';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface Packed {
  name: string;
  version: string;
  file: string;
  size: number;
  unpackedSize: number;
  files: string[];
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Packs every published package into `dest`, as `npm publish` would. */
export function packAll(dest: string): Packed[] {
  const out = execFileSync(process.execPath, [path.join(ROOT, 'tools/pack/pack.mjs'), dest, '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string);
}

export class Project {
  readonly dir: string;
  /** The project's own TMPDIR: sessions and current_cluster.json of what runs here. */
  readonly tmp: string;

  constructor(name: string) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), `tray-e2e-${name}-`));
    this.tmp = path.join(this.dir, '.tmp');
    mkdirSync(this.tmp);
    writeFileSync(
      path.join(this.dir, 'package.json'),
      `${JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
    );
  }

  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (/^npm_/i.test(key) || ['INIT_CWD', 'NODE_PATH', 'TRAY_ADDRESS', 'TRAY_TOKEN'].includes(key))
        continue;
      env[key] = value;
    }
    return { ...env, TMPDIR: this.tmp };
  }

  run(command: string, args: string[], timeoutMs: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        command,
        args,
        { cwd: this.dir, env: { ...this.env(), ...extraEnv }, timeout: timeoutMs, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr: err && code === 1 && !stderr ? String(err) : stderr });
        },
      );
    });
  }

  /** `npm install` of tarballs; third-party packages come from npm's cache when it has them. */
  install(tarballs: string[]): Promise<Run> {
    return this.run('npm', ['install', ...tarballs, '--prefer-offline', '--no-audit', '--no-fund'], 300_000);
  }

  /** An ES module given to `node -e`, run from the project's directory. */
  node(source: string, timeoutMs = 90_000, extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    return this.run(process.execPath, ['--input-type=module', '-e', source], timeoutMs, extraEnv);
  }

  /** `npx --no <args>`: the project's own bins only, never the registry. */
  npx(args: string[], timeoutMs = 120_000): Promise<Run> {
    return this.run('npx', ['--no', ...args], timeoutMs);
  }

  /** What the project has under node_modules/@tray. */
  trayPackages(): string[] {
    try {
      return readdirSync(path.join(this.dir, 'node_modules', '@tray')).sort();
    } catch {
      return [];
    }
  }

  /** Pids of the processes whose environment has this project's TMPDIR. */
  processes(): number[] {
    return processesWithEnv('TMPDIR', this.tmp).filter((pid) => pid !== process.pid);
  }

  cleanUp(): void {
    for (const pid of this.processes()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
