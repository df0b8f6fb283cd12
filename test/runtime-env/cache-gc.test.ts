// The node's cache counts references for real: each worker of an env holds one until it is
// gone, a job that installed its env eagerly holds one until the job ends. On a node whose
// cache limit is 1 byte, two jobs with different npm envs: when job A ends (its driver exits),
// A's npm set is deleted from the cache and from disk, while job B's, in use by B's actor, is
// kept; when B ends too, B's goes. `tray status` shows both entries and the agent meanwhile.
// And on a second node that a job's driver never connected to, the job's eager install is held
// by the job until the GCS publishes it ended (JOB_CHANNEL), then deleted.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanUp,
  nodeStats,
  packPackage,
  resultOf,
  runDriver,
  startNode,
  tmpdir,
  trayCli,
} from './helpers.js';

afterEach(cleanUp);

/** A driver that runs `body`, prints RESULT, then waits for the file `gate` before it ends. */
const driver = (gcsAddress: string, gate: string, init: string, body: string) => `
const { existsSync } = await import('node:fs');
await tray.init({ address: ${JSON.stringify(gcsAddress)}${init} });
${body}
while (!existsSync(${JSON.stringify(gate)})) await new Promise((r) => setTimeout(r, 50));
await tray.shutdown();
`;

describe('runtime-env cache references', () => {
  it('deletes an ended job’s env from disk over the limit, and keeps the env a live actor uses', async () => {
    const app = tmpdir();
    packPackage(app, 'trayenv-a', '1.0.0', "module.exports = 'a';");
    packPackage(app, 'trayenv-b', '1.0.0', "module.exports = 'b';");
    const head = await startNode(['--head', '--port', '0', '--num-cpus', '2'], {
      TRAY_RUNTIME_ENV_CACHE_BYTES: '1',
    });
    const session = readdirSync(path.join(head.tmp, 'tray')).find((n) => n.startsWith('session_'))!;
    const npmDir = path.join(
      head.tmp,
      'tray',
      session,
      'runtime_resources',
      head.record.nodeId.slice(0, 12),
      'npm',
    );
    const cache = async () =>
      (await nodeStats(head.record.gcsAddress, head.token)).get(head.record.nodeId)!.runtimeEnvCache;
    const env = { TRAY_TOKEN: head.token };

    // Job B: an actor in env B, alive until the test opens B's gate.
    const gateB = path.join(app, 'gate-b');
    const jobB = runDriver(
      app,
      head.tmp,
      driver(
        head.record.gcsAddress,
        gateB,
        '',
        `
class Holder { which() { return require('trayenv-b'); } }
const holder = tray.remote(Holder).options({ runtimeEnv: { npm: ['./trayenv-b-1.0.0.tgz'] } }).remote();
console.log('RESULT ' + JSON.stringify(await tray.get(holder.which.remote())));
`,
      ),
      env,
    );
    const [uriB] = await waitFor(
      async () => {
        const c = (await cache()).filter((e) => e.plugin === 'npm' && e.refs > 0);
        return c.length === 1 ? c.map((e) => e.uri) : undefined;
      },
      { timeoutMs: 90_000, what: "job B's actor to hold its npm set" },
    );

    // Job A: its job env (installed eagerly, so the job holds a reference) used by a task.
    const gateA = path.join(app, 'gate-a');
    const jobA = runDriver(
      app,
      head.tmp,
      driver(
        head.record.gcsAddress,
        gateA,
        ", runtimeEnv: { npm: ['./trayenv-a-1.0.0.tgz'] }",
        `console.log('RESULT ' + JSON.stringify(await tray.get(tray.remote(() => require('trayenv-a')).remote())));`,
      ),
      env,
    );
    const uriA = await waitFor(
      async () => (await cache()).find((e) => e.plugin === 'npm' && e.uri !== uriB && e.refs > 0)?.uri,
      { timeoutMs: 90_000, what: "job A's env to be set up" },
    );
    const dirOf = (uri: string) => path.join(npmDir, uri.slice('npm://'.length));
    // Both in use: both kept, however small the limit; tray status shows them and the agent.
    expect(existsSync(dirOf(uriA))).toBe(true);
    expect(existsSync(dirOf(uriB!))).toBe(true);
    const status = await trayCli(['status'], head.tmp);
    expect(status.stdout).toMatch(/runtime-env agent: pid \d+\n/);
    for (const uri of [uriA, uriB!])
      expect(status.stdout).toMatch(new RegExp(`npm +${uri} .* [1-9]\\d* reference`));

    writeFileSync(gateA, '');
    expect(resultOf(await jobA)).toBe('a');
    // A ended: its npm set goes from the cache and from disk; B's stays, still referenced.
    await waitFor(async () => !(await cache()).some((e) => e.uri === uriA), {
      timeoutMs: 30_000,
      what: "job A's npm set to be collected after the job ended",
    });
    expect(existsSync(dirOf(uriA))).toBe(false);
    const kept = (await cache()).find((e) => e.uri === uriB);
    expect(kept?.refs).toBeGreaterThan(0);
    expect(existsSync(dirOf(uriB!))).toBe(true);

    writeFileSync(gateB, '');
    expect(resultOf(await jobB)).toBe('b');
    await waitFor(async () => (await cache()).length === 0 && readdirSync(npmDir).length === 0, {
      timeoutMs: 30_000,
      what: "job B's npm set to be collected once B ended",
    });
  });

  it("gives back a job's eager-install reference on a node its driver never connected to, when the GCS says the job ended", async () => {
    const app = tmpdir();
    packPackage(app, 'trayenv-c', '1.0.0', "module.exports = 'c';");
    const head = await startNode(['--head', '--port', '0', '--num-cpus', '1']);
    const b = await startNode(['--address', head.record.gcsAddress, '--num-cpus', '1'], {
      TRAY_TOKEN: head.token,
      TRAY_RUNTIME_ENV_CACHE_BYTES: '1',
    });
    const cacheOfB = async () =>
      (await nodeStats(head.record.gcsAddress, head.token)).get(b.record.nodeId)!.runtimeEnvCache;
    const gate = path.join(app, 'gate');
    // The job's env is set up on every node at init (eagerInstall); no task of it runs on B.
    const job = runDriver(
      app,
      head.tmp,
      driver(
        head.record.gcsAddress,
        gate,
        ", runtimeEnv: { npm: ['./trayenv-c-1.0.0.tgz'] }",
        "console.log('RESULT 1');",
      ),
      { TRAY_TOKEN: head.token },
    );
    // Held by the job alone: kept on B although B's limit is 1 byte.
    const held = await waitFor(
      async () => (await cacheOfB()).find((e) => e.plugin === 'npm' && e.refs === 1),
      { timeoutMs: 90_000, what: "the job's env to be installed eagerly on node B" },
    );
    writeFileSync(gate, '');
    expect(resultOf(await job)).toBe(1);
    await waitFor(async () => !(await cacheOfB()).some((e) => e.uri === held.uri), {
      timeoutMs: 30_000,
      what: "node B to give the ended job's reference back and delete its env",
    });
  });
});
