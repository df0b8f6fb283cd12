// A setup that hangs is removed, not left running: on `config.setupTimeoutMs` the agent kills
// the setup's commands by process group, has the plugin delete its half-made directory, and
// the task fails with RuntimeEnvSetupError naming the timeout; the next try starts clean.
// Shown with a plugin written in the test (its create() runs `sleep` through ctx.run and
// hangs the first time), and with npm fetching a tarball from a local HTTP server that accepts
// and never answers. Local clusters (tray.init) with the bad-env cache TTL at 0 so that a
// second try really runs.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { commandLine, isAlive, processesWithEnv, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, resultOf, runDriver, tmpdir } from './helpers.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
  await cleanUp();
});

// First try: a partial file in its directory, then a sleep that outlives any timeout.
// Later tries: report whether the directory was clean, and finish.
const STUCK = `import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const marks = new URL('./marks/', import.meta.url).pathname;
export default {
  name: 'stuck', priority: 60,
  validate(v) { if (typeof v !== 'string' || v === '') throw new TypeError('runtimeEnv.stuck must be a word'); return v; },
  uris: (v) => ['stuck://' + v],
  async create(uri, v, ctx) {
    const dir = join(ctx.cacheDir, v);
    const first = !existsSync(join(marks, 'first'));
    mkdirSync(marks, { recursive: true });
    writeFileSync(join(marks, first ? 'first' : 'second'), dir);
    if (first) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'half-made'), '');
      await ctx.run('sh', ['-c', 'echo $$ > ' + join(marks, 'sleep-pid') + '; exec sleep 600']);
      await new Promise(() => {});
    }
    const clean = !existsSync(dir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'state'), clean ? 'clean' : 'dirty');
    return 5;
  },
  modifyContext(uris, v, context, ctx) { context.env.STUCK = readFileSync(join(ctx.cacheDir, v, 'state'), 'utf8'); },
  async delete(uri, ctx) { rmSync(join(ctx.cacheDir, uri.slice('stuck://'.length)), { recursive: true, force: true }); return 0; },
};`;

const TRY_TWICE = (env: string) => `
await tray.init({ numCpus: 2, runtimeEnvPlugins: ['./stuck.mjs'] });
const f = tray.remote(() => process.env.STUCK ?? require('never-answers'));
const outcome = (p) => p.then((v) => v, (e) => ({ name: e.name, message: e.message }));
const env = ${env};
const first = await outcome(tray.get(f.options({ runtimeEnv: env }).remote()));
const plain = await tray.get(tray.remote(() => 'plain').remote());
console.log('FIRST_DONE');
const second = process.env.SECOND_TRY ? await outcome(tray.get(f.options({ runtimeEnv: env }).remote())) : null;
console.log('RESULT ' + JSON.stringify({ first, plain, second }));
await tray.shutdown();
`;

const NO_BAD_CACHE = { TRAY_RUNTIME_ENV_BAD_CACHE_TTL_MS: '0', TRAY_RUNTIME_ENV_RETRY_TIMES: '1' };

describe('hung runtime-env setups', () => {
  it("a plugin's hung create(): its command's group is killed, its directory removed, the next try starts clean", async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'stuck.mjs'), STUCK);
    const run = await runDriver(app, tmp, TRY_TWICE("{ stuck: 'one', config: { setupTimeoutMs: 3000 } }"), {
      ...NO_BAD_CACHE,
      SECOND_TRY: '1',
    });
    const r = resultOf(run);
    expect(r.first.name).toBe('RuntimeEnvSetupError');
    expect(r.first.message).toMatch(/took longer than 3000 ms \(runtimeEnv.config.setupTimeoutMs\)/);
    expect(r.plain).toBe('plain');
    // The second try found no half-made directory and finished.
    expect(r.second).toBe('clean');
    const marks = path.join(app, 'marks');
    expect(readFileSync(path.join(marks, 'second'), 'utf8')).toBe(
      readFileSync(path.join(marks, 'first'), 'utf8'),
    );
    // The first try's sleep was killed at the timeout (its process group), not left behind.
    const sleepPid = Number(readFileSync(path.join(marks, 'sleep-pid'), 'utf8'));
    expect(sleepPid).toBeGreaterThan(0);
    expect(isAlive(sleepPid)).toBe(false);
    // tray.shutdown() took the local cluster's agent process with it.
    const agents = () =>
      processesWithEnv('TMPDIR', tmp).filter((pid) => commandLine(pid).includes('agent-main'));
    await waitFor(() => agents().length === 0, {
      timeoutMs: 15_000,
      what: 'no runtime-env agent left after shutdown',
    });
  });

  it('npm fetching from a server that never answers: npm is killed at the timeout and its partial install removed', async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'stuck.mjs'), STUCK);
    let requests = 0;
    server = createServer(() => {
      requests++; // accepted, never answered
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const runs = runDriver(
      app,
      tmp,
      TRY_TWICE(
        `{ npm: ['http://127.0.0.1:${port}/never-answers-1.0.0.tgz'], config: { setupTimeoutMs: 8000 } }`,
      ),
      // The session stays after the driver exits, to be looked at.
      { ...NO_BAD_CACHE, TRAY_KEEP_SESSION: '1' },
    );
    const npmRunning = () =>
      processesWithEnv('TMPDIR', tmp).filter((pid) => /npm-cli|\bnpm\b/.test(commandLine(pid)));
    // npm is under way and has reached the server.
    let finished = false;
    void runs.finally(() => {
      finished = true;
    });
    // npm is under way and has reached the server (or the driver is done, and the checks below say why).
    await waitFor(() => finished || (requests > 0 && npmRunning().length > 0), {
      timeoutMs: 60_000,
      what: 'npm to fetch from the stalled server',
    });
    const done = await runs;
    expect(requests, `the server saw no request; driver: ${done.stdout} ${done.stderr}`).toBeGreaterThan(0);
    const r = resultOf(done);
    expect(r.first.name).toBe('RuntimeEnvSetupError');
    expect(r.first.message).toMatch(/took longer than 8000 ms/);
    expect(r.plain).toBe('plain');
    expect(npmRunning()).toEqual([]);
    // Nothing of the install is left in the node's npm cache directory.
    const sessions = path.join(tmp, 'tray');
    const npmDirs = readdirSync(sessions)
      .filter((s) => s.startsWith('session_'))
      .flatMap((s) => {
        const root = path.join(sessions, s, 'runtime_resources');
        return existsSync(root) ? readdirSync(root).map((n) => path.join(root, n, 'npm')) : [];
      })
      .filter((d) => existsSync(d));
    expect(npmDirs.length).toBe(1);
    for (const d of npmDirs) expect(readdirSync(d)).toEqual([]);
  });
});
