// The environment that makes a tray process use test certificates (@tray/test-support's
// makeTestCerts) for mutual TLS, as a user configures it (TRAY_USE_TLS and the TRAY_TLS_* files).
import type { TestCerts } from '@tray/test-support';

/** The environment that makes a process use `certs` for mutual TLS. */
export function tlsEnv(certs: TestCerts): Record<string, string> {
  return {
    TRAY_USE_TLS: '1',
    TRAY_TLS_SERVER_CERT: certs.cert,
    TRAY_TLS_SERVER_KEY: certs.key,
    TRAY_TLS_CA_CERT: certs.ca,
  };
}
