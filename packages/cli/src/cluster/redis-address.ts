// `tray start --head --redis-address`: the Redis that keeps the GCS's tables, so a GCS the node
// supervisor restarts finds the cluster again (Ray's GCS fault tolerance). Parses and checks
// the flag, and names the cluster's keys: `tray:<session name>:…`, one namespace per cluster
// (Ray's external_storage_namespace), so clusters can share one Redis.
import path from 'node:path';
import { UsageError } from '../usage-error.js';

export interface RedisSettings {
  /** `redis://host:port[/db]` (or `rediss://` for TLS), password removed. */
  url: string;
  password?: string;
  keyPrefix: string;
}

const FORM = 'redis://host:port (or rediss:// for TLS; optionally redis://:password@host:port/db)';

export function parseRedisAddress(
  raw: string,
  password: string | undefined,
  sessionDir: string,
): RedisSettings {
  const bad = (why: string) =>
    new UsageError(`--redis-address must be ${FORM}: ${why}, got '${redactPassword(raw)}'`, 'start');
  // host:port alone is taken as redis://host:port.
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `redis://${raw}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw bad(`the scheme must be redis:// or rediss://, not ${url.protocol}//`);
  }
  if (!url.hostname) throw bad('no host');
  if (!url.port) throw bad('no port (Redis usually listens on 6379)');
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) {
    throw bad('the path, if any, is a database number (/0 .. /15)');
  }
  if (url.search || url.hash) throw bad('no query or fragment is allowed');
  const fromUrl = url.password ? decodeURIComponent(url.password) : undefined;
  url.username = '';
  url.password = '';
  return {
    url: url.toString().replace(/\/$/, ''),
    password: password ?? fromUrl,
    keyPrefix: `tray:${path.basename(sessionDir)}`,
  };
}

function redactPassword(raw: string): string {
  return raw.replace(/(\/\/[^/@]*:)[^/@]*@/, '$1***@');
}
