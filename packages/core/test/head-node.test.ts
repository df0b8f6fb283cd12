// The local head node that init() starts: the GCS and the raylet start at once (the raylet
// waits for the GCS to register), and the daemons run without NODE_EXTRA_CA_CERTS (they make
// no TLS connections) while the workers get it back, so tasks see the driver's environment.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { runScript } from '@tray/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDriverScript } from './helpers.js';

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('the head node init() starts', () => {
  it("gives tasks the driver's NODE_EXTRA_CA_CERTS and lists the node once started", async () => {
    const certDir = mkdtempSync(path.join(os.tmpdir(), 'tray-ca-'));
    temps.push(certDir);
    const certFile = path.join(certDir, 'extra.pem');
    writeFileSync(certFile, rootCertificates[0]!);
    const file = writeDriverScript(`
      import * as tray from '@tray/core';
      await tray.init({ numCpus: 1 });
      const nodes = await tray.nodes();
      const env = tray.remote(() => process.env.NODE_EXTRA_CA_CERTS ?? 'unset');
      console.log(JSON.stringify({ nodes: nodes.length, alive: nodes[0].alive, certs: await tray.get(env.remote()) }));
      await tray.shutdown();
    `);
    temps.push(path.dirname(file));
    const run = await runScript(file, { env: { NODE_EXTRA_CA_CERTS: certFile } });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    const line = run.stdout.split('\n').find((l) => l.startsWith('{'));
    expect(JSON.parse(line!)).toEqual({ nodes: 1, alive: true, certs: certFile });
  });
});
