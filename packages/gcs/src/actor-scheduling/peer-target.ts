// How the GCS reaches a driver or worker: over TCP at its address's ip and port, which every core
// worker serves (the process may be on another node than the GCS), else over its Unix socket.
import type { Target, tray } from '@tray/protocol';

/** Where `address` is reached, and a key naming that place; undefined when it gives neither. */
export function peerTarget(
  address: tray.v1.IAddress | null | undefined,
): { key: string; target: Target } | undefined {
  if (address?.port) {
    const host = address.ip || '127.0.0.1';
    return { key: `${host}:${address.port}`, target: { host, port: address.port } };
  }
  if (address?.socketPath) return { key: address.socketPath, target: address.socketPath };
  return undefined;
}
