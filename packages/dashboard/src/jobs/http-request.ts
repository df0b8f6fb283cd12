// One HTTP(S) request to a dashboard, for JobSubmissionClient and the CLI: node's http/https
// (fetch cannot be given a CA), so a dashboard serving HTTPS with the cluster's certificate is
// trusted through its CA — `ca`, else the file TRAY_TLS_CA_CERT names (what `tray start --tls-ca`
// gives the node's processes; a user sets it for a client elsewhere).
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, STATUS_CODES } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface DashboardReply {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The CA to trust a dashboard's certificate by: `ca`, or TRAY_TLS_CA_CERT's file. */
export function dashboardCa(ca?: string | Buffer): string | Buffer | undefined {
  if (ca !== undefined) return ca;
  const file = process.env.TRAY_TLS_CA_CERT;
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read TRAY_TLS_CA_CERT=${file}: ${(err as Error).message}`);
  }
}

/**
 * GET `url` and hand each chunk of the body to `onData` as it comes (a followed log); resolves
 * with the status when the server ends the body, rejects when the request fails.
 */
export function dashboardStream(
  url: string,
  options: { headers?: Record<string, string>; ca?: string | Buffer },
  onData: (chunk: Buffer) => void,
): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      { headers: options.headers, ...(target.protocol === 'https:' && options.ca ? { ca: options.ca } : {}) },
      (res) => {
        const status = res.statusCode ?? 0;
        const failed: Buffer[] = [];
        res.on('data', (c: Buffer) => (status === 200 ? onData(c) : failed.push(c)));
        res.on('end', () => resolve({ status, text: Buffer.concat(failed).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export function dashboardRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    ca?: string | Buffer;
    /** No answer within this: the request fails. */
    timeoutMs?: number;
  } = {},
): Promise<DashboardReply> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method ?? 'GET',
        headers: {
          ...options.headers,
          ...(options.body !== undefined
            ? { 'content-length': String(Buffer.byteLength(options.body)) }
            : {}),
        },
        ...(target.protocol === 'https:' && options.ca !== undefined ? { ca: options.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage || STATUS_CODES[res.statusCode ?? 0] || '',
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.timeoutMs !== undefined)
      req.setTimeout(options.timeoutMs, () =>
        req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
      );
    req.end(options.body);
  });
}
