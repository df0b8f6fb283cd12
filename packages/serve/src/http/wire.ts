// The seam between the HTTP proxy and a replica: how one HTTP request crosses from the proxy
// actor to the ingress deployment's replica, and its response back. The proxy calls the ingress
// through the public DeploymentHandle API, as
//   handle.options({ methodName: HTTP_METHOD, stream: true }).remote(request)
// and the replica answers that reserved method by running the user's `fetch(Request)` through
// `serveHttp` (replica-http.ts): the stream's first item is the ResponseHead, every later item a
// chunk of the body. Bodies of at least LARGE_BODY_BYTES travel as an ObjectRef (Ray's 100 KiB).
import type { ObjectRef } from '@tray/core';

/** The reserved method name a replica answers HTTP requests on. */
export const HTTP_METHOD = '__serve_http__';

/** Request and response bodies from this size on go through the object store. */
export const LARGE_BODY_BYTES = 100 * 1024;

export interface SerializedRequest {
  method: string;
  /** The full URL as the client asked for it (scheme, host, path, query). */
  url: string;
  headers: Array<[string, string]>;
  /** The route prefix the request matched (Ray's root_path). */
  routePrefix: string;
  /** A small body inline; null for none or when `bodyRef` holds it. */
  body: Uint8Array | null;
  /** A body of at least LARGE_BODY_BYTES, put in the object store by the proxy. */
  bodyRef?: ObjectRef<Uint8Array>;
  /**
   * A body the proxy streams as the client sends it (a chunked upload): the replica pulls its
   * chunks by calling `receiveBody(id)` on the named proxy actor until it answers null.
   */
  bodyStream?: BodyStreamSource;
}

/** Where a streamed request body is pulled from (Ray's proxy receive_asgi_messages). */
export interface BodyStreamSource {
  /** The proxy actor's name and namespace (tray.getActor). */
  proxy: string;
  namespace: string;
  /** The request's id in that proxy. */
  id: string;
}

export interface ResponseHead {
  status: number;
  statusText?: string;
  headers: Array<[string, string]>;
}

/** One item of the replica's answer: the head first, then body chunks in order. */
export type ResponseItem = ResponseHead | Uint8Array | ObjectRef<Uint8Array>;
