// How `tray list|get|summary|logs|timeline` reach the state API: the dashboard's HTTP address
// (--address http://HOST:PORT, else TRAY_DASHBOARD_ADDRESS, else TRAY_ADDRESS when it is an
// http(s) URL, else the dashboard of the node `tray start` left here, else http://127.0.0.1:8265
// as Ray's) and the cluster token (--token-file, TRAY_TOKEN, or that node's token file — only
// for its own dashboard: a token is never sent to another address). A reply that is not a
// success is an Error carrying the server's message.
import { readFileSync } from 'node:fs';
import { dashboardCa, dashboardRequest, dashboardStream } from '@tray/dashboard';
import { readCurrentCluster } from '../cluster/current-cluster.js';
import { UsageError } from '../usage-error.js';

export interface Dashboard {
  url: string;
  token: string;
}

export function findDashboard(
  command: string,
  address: string | undefined,
  tokenFile: string | undefined,
): Dashboard {
  const current = readCurrentCluster();
  const envUrl = /^https?:\/\//.test(process.env.TRAY_ADDRESS ?? '') ? process.env.TRAY_ADDRESS : undefined;
  const raw =
    address ||
    process.env.TRAY_DASHBOARD_ADDRESS ||
    envUrl ||
    current?.dashboardUrl ||
    'http://127.0.0.1:8265';
  const withScheme = /^https?:\/\//.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--address must be the dashboard's http://HOST:PORT, got '${raw}'`, command);
  }
  const ownDashboard =
    current?.dashboardUrl !== undefined && new URL(current.dashboardUrl).origin === url.origin;
  const file = tokenFile ?? (process.env.TRAY_TOKEN || !ownDashboard ? undefined : current?.tokenFile);
  let token = process.env.TRAY_TOKEN || '';
  if (file) {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`cannot read the token file ${file}: ${(err as Error).message}`, command);
    }
  }
  if (!token)
    throw new UsageError('the cluster token is needed: --token-file <session>/token, or TRAY_TOKEN', command);
  return { url: url.origin, token };
}

/** GET `route` (with its query); JSON replies parsed, text ones as text. */
export async function getState(dashboard: Dashboard, route: string): Promise<unknown> {
  let res: Awaited<ReturnType<typeof dashboardRequest>>;
  try {
    // An https:// dashboard (a cluster with TLS) is trusted through TRAY_TLS_CA_CERT's CA.
    res = await dashboardRequest(`${dashboard.url}${route}`, {
      headers: { authorization: `Bearer ${dashboard.token}` },
      ca: dashboardCa(),
    });
  } catch (err) {
    throw new Error(
      `cannot reach the dashboard at ${dashboard.url} (${(err as Error).message}); ` +
        'give its address with --address http://HOST:PORT (and TRAY_TLS_CA_CERT for an https:// one)',
    );
  }
  const text = res.body.toString('utf8');
  const json = String(res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : undefined;
  if (res.status < 200 || res.status >= 300) throw new Error(json?.error ?? `${res.status} ${text}`);
  return json ?? text;
}

/** GET a streaming `route` (a followed log), each chunk to `onData`; a refusal is an Error with its message. */
export async function followState(
  dashboard: Dashboard,
  route: string,
  onData: (chunk: Buffer) => void,
): Promise<void> {
  let res: { status: number; text: string };
  try {
    res = await dashboardStream(
      `${dashboard.url}${route}`,
      { headers: { authorization: `Bearer ${dashboard.token}` }, ca: dashboardCa() },
      onData,
    );
  } catch (err) {
    throw new Error(`cannot reach the dashboard at ${dashboard.url} (${(err as Error).message})`);
  }
  if (res.status !== 200) {
    let message = res.text;
    try {
      message = JSON.parse(res.text).error ?? message;
    } catch {}
    throw new Error(message || `${res.status}`);
  }
}
