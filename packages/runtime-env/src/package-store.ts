// Where uploaded packages live in the cluster: the GCS's internal KV, namespace `runtime_env`,
// as a manifest `pkg:<hash>` ({ chunks, bytes }) and chunks `pkg:<hash>:<i>` of at most 1 MiB
// (under gRPC's message limit). A package already stored is not uploaded again.
import { createHash } from 'node:crypto';

export const PACKAGE_KV_NAMESPACE = 'runtime_env';
const CHUNK_BYTES = 1 << 20;

/** The GCS's internal KV as @tray/gcs's GcsClient offers it (and the raylet adapts). */
export interface PackageKv {
  kvGet(namespace: string, key: string): Promise<Uint8Array | undefined>;
  kvPut(namespace: string, key: string, value: Uint8Array | string, overwrite?: boolean): Promise<boolean>;
  kvExists(namespace: string, key: string): Promise<boolean>;
}

/** Store `archive` under `hash` unless it is there; true when it was sent. */
export async function uploadPackage(kv: PackageKv, hash: string, archive: Buffer): Promise<boolean> {
  if (await kv.kvExists(PACKAGE_KV_NAMESPACE, `pkg:${hash}`)) return false;
  const chunks = Math.max(1, Math.ceil(archive.length / CHUNK_BYTES));
  for (let i = 0; i < chunks; i++) {
    await kv.kvPut(
      PACKAGE_KV_NAMESPACE,
      `pkg:${hash}:${i}`,
      archive.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES),
    );
  }
  // The manifest last: a package is visible only once whole.
  const sha = createHash('sha256').update(archive).digest('hex');
  await kv.kvPut(
    PACKAGE_KV_NAMESPACE,
    `pkg:${hash}`,
    JSON.stringify({ chunks, bytes: archive.length, sha256: sha }),
  );
  return true;
}

/** The archive stored under `hash`; checks its size and checksum. */
export async function downloadPackage(kv: PackageKv, hash: string): Promise<Buffer> {
  const manifestBytes = await kv.kvGet(PACKAGE_KV_NAMESPACE, `pkg:${hash}`);
  if (manifestBytes === undefined)
    throw new Error(`package ${hash} is not in the GCS (was it uploaded by a driver of this cluster?)`);
  let manifest: { chunks: number; bytes: number; sha256: string };
  try {
    manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
  } catch {
    throw new Error(`package ${hash}: its manifest in the GCS is not JSON`);
  }
  if (!Number.isInteger(manifest.chunks) || manifest.chunks < 1 || manifest.chunks > 100_000)
    throw new Error(`package ${hash}: its manifest names ${manifest.chunks} chunks`);
  const parts: Buffer[] = [];
  for (let i = 0; i < manifest.chunks; i++) {
    const part = await kv.kvGet(PACKAGE_KV_NAMESPACE, `pkg:${hash}:${i}`);
    if (part === undefined) throw new Error(`package ${hash}: chunk ${i} is missing in the GCS`);
    parts.push(Buffer.from(part));
  }
  const archive = Buffer.concat(parts);
  if (
    archive.length !== manifest.bytes ||
    createHash('sha256').update(archive).digest('hex') !== manifest.sha256
  )
    throw new Error(`package ${hash}: the bytes in the GCS do not match its manifest`);

  return archive;
}
