// The URL of a request the proxy took: its href and pathname as `new URL(target, http://host)`
// gives them, without parsing when the request target and Host are already in the form URL
// would give back (the common case: parsing was ~4% of the proxy's CPU per request). Anything
// URL would change — dot segments, percent-encoded dots, characters it escapes, a default or
// zero-padded port, uppercase or numeric-looking hosts, IDNA, a scheme-relative "//host" target —
// takes the full parse.

/** A path of characters URL keeps as they are (no '#', '?', '\', space, quotes, non-ASCII). */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
/** A segment that is, or may decode to, "." or "..". */
const DOT_SEGMENT = /\/(?:\.|%2e)/i;
/** A query of characters URL keeps as they are (its special-query escape set excluded). */
const PLAIN_QUERY = /^[!$%&()*+,\-./0-9:;=?@A-Z[\]^_`a-z{|}~]*$/;
/** A lowercase host name whose last label is not numeric (URL would parse that as IPv4). */
const PLAIN_NAME = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z](?:[a-z0-9-]*[a-z0-9])?$/;
const DOTTED_QUAD = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const PORT = /^[1-9]\d{0,4}$/;

export interface RequestUrl {
  href: string;
  pathname: string;
  host: string;
}

/** `target` (the request line's) against `host` (the Host header). Throws as URL does. */
export function requestUrl(target: string, host: string): RequestUrl {
  const fast = plain(target, host);
  if (fast !== undefined) return fast;
  const url = new URL(target, `http://${host}`);
  return { href: url.href, pathname: url.pathname, host: url.host };
}

/** The URL without parsing, or undefined when URL might give something else. */
export function plain(target: string, host: string): RequestUrl | undefined {
  if (!plainHost(host)) return undefined;
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  // "//x" is scheme-relative: x is the host.
  if (!PLAIN_PATH.test(path) || DOT_SEGMENT.test(path) || path.startsWith('//')) return undefined;
  if (q >= 0 && !PLAIN_QUERY.test(target.slice(q + 1))) return undefined;
  // A '%' not followed by two hex digits is kept by URL too, so no check is needed for it.
  return { href: `http://${host}${target}`, pathname: path, host };
}

/** Hosts already checked (a proxy sees the same few Host headers again and again). */
const checkedHosts = new Map<string, boolean>();
const CHECKED_HOSTS_MAX = 64;

function plainHost(host: string): boolean {
  let known = checkedHosts.get(host);
  if (known === undefined) {
    known = checkHost(host);
    if (checkedHosts.size >= CHECKED_HOSTS_MAX) checkedHosts.clear();
    checkedHosts.set(host, known);
  }
  return known;
}

function checkHost(host: string): boolean {
  const colon = host.lastIndexOf(':');
  const name = colon < 0 ? host : host.slice(0, colon);
  if (colon >= 0) {
    const port = host.slice(colon + 1);
    if (!PORT.test(port) || port === '80' || Number(port) > 65535) return false;
  }
  if (name.includes('xn--')) return false;
  return PLAIN_NAME.test(name) || DOTTED_QUAD.test(name);
}
