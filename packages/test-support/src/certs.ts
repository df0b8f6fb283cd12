// Certificates for the TLS tests, made with openssl: a CA, and a certificate it signed for
// 127.0.0.1 and localhost that serves as server and as client certificate (tray's mutual TLS
// uses one per node). Short-lived (2 days) and written as PEM files into a directory the caller
// owns and removes.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestCerts {
  /** Paths of the PEM files. */
  ca: string;
  cert: string;
  key: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Make a CA named `name` and a node certificate it signed, as `<name>-*.pem` files in `dir`. */
export function makeTestCerts(dir: string, name = 'test'): TestCerts {
  if (!/^[\w.-]+$/.test(name)) {
    throw new TypeError(
      `makeTestCerts: name must be letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`,
    );
  }
  const file = (suffix: string) => path.join(dir, `${name}-${suffix}`);
  const run = (args: string[]) => {
    try {
      execFileSync('openssl', args, { stdio: 'pipe' });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT')
        throw new Error('openssl is not on PATH: the TLS tests need it (apt-get install -y openssl)');
      throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? e.message}`);
    }
  };
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
