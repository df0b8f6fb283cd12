// Replica side of wire.ts: turns a SerializedRequest into a web-standard Request, calls the
// user's `fetch`, and yields the Response as a head and body chunks. Owned by the HTTP work.
import type { ResponseItem, SerializedRequest } from './wire.js';

export interface FetchHandler {
  fetch(request: Request): Response | Promise<Response>;
}

export function serveHttp(_instance: FetchHandler, _request: SerializedRequest): AsyncGenerator<ResponseItem> {
  throw new Error('@tray/serve: serveHttp is not built yet');
}
