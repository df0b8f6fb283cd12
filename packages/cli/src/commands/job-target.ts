// Which dashboard `tray job` talks to, and with which token: --address http://host:port, else
// TRAY_ADDRESS when it is an http(s) URL (Ray's RAY_ADDRESS works the same way), else the
// dashboard of the node `tray start` left on this machine. The token: TRAY_TOKEN, else that
// node's token file (only for its own dashboard: a token is never sent to another address).
import { readFileSync } from 'node:fs';
import { readCurrentCluster } from '../cluster/current-cluster.js';
import { UsageError } from '../usage-error.js';

export interface JobTarget {
  address: string;
  token: string | undefined;
}

const isUrl = (value: string | undefined): value is string =>
  value !== undefined && /^https?:\/\//.test(value);

export function jobTarget(address: string | undefined): JobTarget {
  if (address !== undefined && !isUrl(address)) {
    throw new UsageError(
      `--address is the dashboard's URL, e.g. http://127.0.0.1:8265, got '${address}'`,
      'job',
    );
  }
  const current = readCurrentCluster();
  const chosen =
    address ?? (isUrl(process.env.TRAY_ADDRESS) ? process.env.TRAY_ADDRESS : current?.dashboardUrl);
  if (chosen === undefined) {
    throw new UsageError(
      'no dashboard to talk to: give --address http://host:8265 (or TRAY_ADDRESS=http://...), or start a head node here with `tray start --head`',
      'job',
    );
  }
  const url = new URL(chosen).origin;
  let token = process.env.TRAY_TOKEN || undefined;
  if (token === undefined && current?.dashboardUrl && new URL(current.dashboardUrl).origin === url) {
    try {
      token = readFileSync(current.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new Error(`cannot read the token file ${current.tokenFile}: ${(err as Error).message}`);
    }
  }
  return { address: url, token };
}
