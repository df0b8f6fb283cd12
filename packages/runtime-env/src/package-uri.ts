// URIs of packages a driver uploaded: `tray-pkg://<hash>` names the archive stored in the GCS
// KV (namespace `runtime_env`, chunked); a suffix after the hash says what is inside.

export const PACKAGE_SCHEME = 'tray-pkg://';
const URI = /^tray-pkg:\/\/([0-9a-f]{40})(?:\/([A-Za-z0-9._@+-]+))?$/;

export function packageUri(hash: string, suffix?: string): string {
  return `${PACKAGE_SCHEME}${hash}${suffix ? `/${suffix}` : ''}`;
}

/** The hash and suffix of a package URI, or undefined for anything else. */
export function parsePackageUri(uri: string): { hash: string; suffix: string | undefined } | undefined {
  const m = URI.exec(uri);
  return m ? { hash: m[1]!, suffix: m[2] } : undefined;
}

export function isPackageUri(value: string): boolean {
  return URI.test(value);
}
