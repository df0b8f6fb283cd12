// `tray metrics launch-prometheus`: Ray's command of the same name for tray. Writes a
// prometheus.yml for the head's session (metrics/prometheus/ in the session directory; see
// metrics/prometheus-config.ts) and runs the machine's `prometheus` on it in the foreground,
// bound to loopback unless --host says otherwise, until Ctrl-C or SIGTERM, which it passes on.
// Unlike Ray it downloads nothing: `prometheus` must be installed (Debian: apt install prometheus).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tlsFromEnv } from '@tray/protocol';
import { readCurrentCluster } from '../cluster/current-cluster.js';
import { type FlagSpec, parseFlags } from '../flags.js';
import { prometheusConfig } from '../metrics/prometheus-config.js';
import { UsageError } from '../usage-error.js';

export const launchPrometheusFlags: Record<string, FlagSpec> = {
  port: { kind: 'port' },
  host: { kind: 'string' },
  'session-dir': { kind: 'string' },
  'scrape-interval': { kind: 'string' },
  prometheus: { kind: 'string' },
};

function headSession(given: string | undefined): string {
  if (given !== undefined) {
    const dir = path.resolve(given);
    if (!existsSync(path.join(dir, 'token')))
      throw new UsageError(
        `--session-dir ${dir} is not a tray session directory (it has no token file)`,
        'metrics',
      );
    return dir;
  }
  const current = readCurrentCluster();
  if (current === undefined || !current.head) {
    throw new UsageError(
      'no head node started here by `tray start --head`: run this on the head, or pass --session-dir',
      'metrics',
    );
  }
  return current.sessionDir;
}

export async function metrics(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'launch-prometheus') {
    throw new UsageError(sub === undefined ? 'name a subcommand' : `unknown subcommand '${sub}'`, 'metrics');
  }
  const flags = parseFlags('metrics', rest, launchPrometheusFlags);
  const sessionDir = headSession(flags.sessionDir as string | undefined);
  const tls = tlsFromEnv();
  let config: string;
  try {
    config = prometheusConfig({
      sessionDir,
      scrapeInterval: (flags.scrapeInterval as string | undefined) ?? '10s',
      tls: tls
        ? {
            certFile: process.env.TRAY_TLS_SERVER_CERT!,
            keyFile: process.env.TRAY_TLS_SERVER_KEY!,
            caFile: process.env.TRAY_TLS_CA_CERT!,
          }
        : undefined,
    });
  } catch (err) {
    throw new UsageError((err as Error).message, 'metrics');
  }
  const dir = path.join(sessionDir, 'metrics', 'prometheus');
  mkdirSync(dir, { recursive: true });
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const listen = `${(flags.host as string | undefined) ?? '127.0.0.1'}:${(flags.port as number | undefined) ?? 9090}`;
  const bin = (flags.prometheus as string | undefined) ?? 'prometheus';
  const child = spawn(
    bin,
    [
      `--config.file=${configFile}`,
      `--web.listen-address=${listen}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  out.write(`prometheus.yml: ${configFile}\nPrometheus (pid ${child.pid ?? '?'}) at http://${listen}\n`);
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  return new Promise((resolve, reject) => {
    child.once('error', (err) =>
      reject(
        new Error(
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? `cannot run '${bin}': install Prometheus (Debian: apt install prometheus) or pass --prometheus PATH`
            : `cannot run '${bin}': ${err.message}`,
        ),
      ),
    );
    child.once('exit', (code, signal) => resolve(signal ? 0 : (code ?? 1)));
  });
}
