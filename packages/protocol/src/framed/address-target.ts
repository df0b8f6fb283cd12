// Where a tray process named by its Address is reached over the framed transport: over its Unix
// socket (only from its own machine) or over TCP at its ip and port (from anywhere). Drivers,
// workers and raylets give out both; callers say which they prefer.
import type { tray } from '../../generated/proto.js';
import type { Target } from './endpoint.js';

/**
 * The target to connect to for `address` and a key naming it (for connection caches): the
 * socket when `preferSocket` (the peer is on this node) and it has one, else TCP when it has a
 * port, else the socket. Undefined when the address gives neither.
 */
export function addressTarget(
  address: tray.v1.IAddress | null | undefined,
  preferSocket: boolean,
): { key: string; target: Target } | undefined {
  const socketPath = address?.socketPath;
  if (preferSocket && socketPath) return { key: socketPath, target: socketPath };
  if (address?.port) {
    const host = address.ip || '127.0.0.1';
    return { key: `${host}:${address.port}`, target: { host, port: address.port } };
  }
  return socketPath ? { key: socketPath, target: socketPath } : undefined;
}
