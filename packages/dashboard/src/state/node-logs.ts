// The log files of one node, wherever it is: the head's read here from the session directory,
// every other node's through its raylet (NodeManagerService.ListLogs and GetLog, Ray's LogAgent).
// Following a file (`/api/v0/logs/stream`) polls for the bytes past what was sent.
import { ErrorType, GrpcStatus, NodeManagerService, RemoteError } from '@tray/protocol';
import { badRequest, HttpError, notFound } from '../server/http-error.js';
import { byCategory, checkFilename, listLogs, readFrom, tailFile } from './logs.js';
import type { Raylets } from './raylets.js';

export interface NodeLogs {
  list(glob: string | null): Promise<Record<string, string[]>>;
  tail(name: string, lines: number): Promise<{ text: string; end: number }>;
  from(name: string, offset: number): Promise<{ data: Buffer; end: number }>;
}

/** A raylet's error as the HTTP error it means (its message says what was wrong). */
function httpError(err: unknown, nodeId: string): Error {
  if (err instanceof HttpError) return err;
  if (err instanceof RemoteError) {
    if (err.type === ErrorType.NOT_FOUND || err.grpcCode === GrpcStatus.NOT_FOUND)
      return notFound(err.message);
    if (err.type === ErrorType.INVALID_ARGUMENT || err.grpcCode === GrpcStatus.INVALID_ARGUMENT)
      return badRequest(err.message);
  }
  return new HttpError(502, `the raylet of node ${nodeId} did not answer: ${(err as Error).message}`);
}

export function localLogs(logsDir: string): NodeLogs {
  return {
    list: (glob) => listLogs(logsDir, glob),
    async tail(name, lines) {
      const text = await tailFile(logsDir, name, lines);
      const { end } = await readFrom(logsDir, name, Number.MAX_SAFE_INTEGER);
      return { text, end };
    },
    from: (name, offset) => readFrom(logsDir, name, offset),
  };
}

export async function remoteLogs(raylets: Raylets, nodeId: string): Promise<NodeLogs> {
  const client = await raylets.client(nodeId);
  if (client === undefined) throw notFound(`no live node ${nodeId} (see GET /api/v0/nodes)`);
  const call = async <T>(fn: () => Promise<T>) => {
    try {
      return await fn();
    } catch (err) {
      throw httpError(err, nodeId);
    }
  };
  return {
    async list(glob) {
      const reply = await call(() => client.call(NodeManagerService.ListLogs, { glob: glob ?? '' }));
      return byCategory((reply.files ?? []).map((f) => f.name ?? ''));
    },
    async tail(name, lines) {
      const reply = await call(() =>
        client.call(NodeManagerService.GetLog, { filename: checkFilename(name), lines }),
      );
      return { text: Buffer.from(reply.data ?? []).toString('utf8'), end: Number(reply.endOffset ?? 0) };
    },
    async from(name, offset) {
      const reply = await call(() =>
        client.call(NodeManagerService.GetLog, { filename: checkFilename(name), fromOffset: true, offset }),
      );
      return { data: Buffer.from(reply.data ?? []), end: Number(reply.endOffset ?? 0) };
    },
  };
}
