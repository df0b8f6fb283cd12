// TLS for everything that crosses machines, optional as in Ray (RAY_USE_TLS): with
// TRAY_USE_TLS=1 every gRPC server and client and every framed TCP server and client of this
// process speaks mutual TLS — it presents TRAY_TLS_SERVER_CERT/TRAY_TLS_SERVER_KEY and accepts
// only peers whose certificate TRAY_TLS_CA_CERT signed — so the cluster token never travels in
// plain text between nodes. Unix sockets stay plain (they never leave the machine). The
// variables are inherited by every daemon and worker a node starts (`tray start --tls-*` sets
// them), and read by drivers too.
import { readFileSync } from 'node:fs';

export interface TlsConfig {
  /** PEM certificate this process presents, as server and as client. */
  cert: Buffer;
  /** PEM private key of `cert`. */
  key: Buffer;
  /** PEM CA bundle: peers must present a certificate it signed. */
  ca: Buffer;
}

const VARS = ['TRAY_TLS_SERVER_CERT', 'TRAY_TLS_SERVER_KEY', 'TRAY_TLS_CA_CERT'] as const;

/** The TLS configuration `env` asks for (undefined without TRAY_USE_TLS); throws on a bad one. */
export function tlsFromEnv(env: NodeJS.ProcessEnv = process.env): TlsConfig | undefined {
  const use = (env.TRAY_USE_TLS ?? '').trim().toLowerCase();
  if (use === '' || use === '0' || use === 'false') return undefined;
  if (use !== '1' && use !== 'true') {
    throw new Error(`TRAY_USE_TLS must be 1 or 0 (true or false), got ${JSON.stringify(env.TRAY_USE_TLS)}`);
  }
  const files: Buffer[] = [];
  for (const name of VARS) {
    const file = env[name];
    if (!file) {
      throw new Error(`TRAY_USE_TLS=1 needs ${VARS.join(', ')} (PEM files); ${name} is not set`);
    }
    try {
      files.push(readFileSync(file));
    } catch (err) {
      throw new Error(`cannot read ${name}=${file}: ${(err as Error).message}`);
    }
  }
  return { cert: files[0]!, key: files[1]!, ca: files[2]! };
}

let cached: { config: TlsConfig | undefined } | undefined;

/** This process's TLS configuration (from its environment, read once). */
export function processTls(): TlsConfig | undefined {
  cached ??= { config: tlsFromEnv() };
  return cached.config;
}

/** Forget the configuration read (tests that change the environment). */
export function resetProcessTls(): void {
  cached = undefined;
}
