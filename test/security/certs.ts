// Test certificates made with openssl: a CA and a certificate it signed for 127.0.0.1 and
// localhost (usable as server and client certificate, as tray's mutual TLS uses it), in a
// directory the caller removes.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
}

const OPENSSL = '/usr/bin/openssl';
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Make a CA named `name` and a node certificate it signed, as PEM files in `dir`. */
export function makeCerts(dir: string, name: string): TestCerts {
  const file = (suffix: string) => path.join(dir, `${name}-${suffix}`);
  const run = (args: string[]) => execFileSync(OPENSSL, args, { stdio: 'pipe' });
  run([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '2',
    '-subj',
    `/CN=${name} test CA`,
  ]);
  run(['req', ...EC, '-keyout', file('node.key'), '-out', file('node.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(
    file('ext.cnf'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n',
  );
  run([
    'x509',
    '-req',
    '-in',
    file('node.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('node.pem'),
    '-days',
    '2',
    '-extfile',
    file('ext.cnf'),
  ]);
  return { ca: file('ca.pem'), cert: file('node.pem'), key: file('node.key') };
}

/** The environment that makes a process use `certs` for mutual TLS. */
export function tlsEnv(certs: TestCerts): Record<string, string> {
  return {
    TRAY_USE_TLS: '1',
    TRAY_TLS_SERVER_CERT: certs.cert,
    TRAY_TLS_SERVER_KEY: certs.key,
    TRAY_TLS_CA_CERT: certs.ca,
  };
}
