// The runtime env's `config` as a user meets it, with plugins written in the test and loaded
// with tray.init({ runtimeEnvPlugins }) into a real local cluster. setupTimeoutMs: a plugin
// whose setup never finishes fails its task with RuntimeEnvSetupError naming the timeout, and
// other tasks run meanwhile. eagerInstall (on by default): tray.init has the node set the job's
// env up before any task is submitted; when that fails, init still succeeds (as Ray's) and the
// user sees the plugin's error on the first task that needs the env, without a new try.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, resultOf, runDriver, tmpdir } from './helpers.js';

afterEach(cleanUp);

const HANG = `export default {
  name: 'hang', priority: 60,
  validate(v) { if (typeof v !== 'string') throw new TypeError('runtimeEnv.hang must be a string'); return v; },
  uris: (v) => ['hang://' + v],
  create: () => new Promise(() => {}),
  modifyContext() {},
  delete: async () => 0,
};`;

// Each try appends a line to the file the env names, then fails.
const QUOTA = `import { appendFileSync } from 'node:fs';
export default {
  name: 'quota', priority: 60,
  validate(v) { if (typeof v !== 'string') throw new TypeError('runtimeEnv.quota must be a file path'); return v; },
  uris: (v) => ['quota://' + Buffer.from(v).toString('hex')],
  async create(uri, v) { appendFileSync(v, 'try\\n'); throw new Error('no quota left for this job (ask the operator for more)'); },
  modifyContext() {},
  delete: async () => 0,
};`;

describe('runtime env config', () => {
  it('setupTimeoutMs: a setup that never finishes fails its task naming the timeout; others run meanwhile', async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'hang.mjs'), HANG);
    const run = await runDriver(
      app,
      tmp,
      `
await tray.init({ numCpus: 2, runtimeEnvPlugins: ['./hang.mjs'] });
const f = tray.remote(() => 'ran');
const plain = tray.remote((i) => i);
let hungSettled = false;
const hung = tray.get(f.options({ runtimeEnv: { hang: 'forever', config: { setupTimeoutMs: 15000 } } }).remote())
  .then(() => 'ran', (e) => ({ name: e.name, message: e.message }))
  .finally(() => { hungSettled = true; });
const others = await tray.get([0, 1, 2, 3].map((i) => plain.remote(i)));
const othersWhileHung = !hungSettled;
const hungResult = await hung;
const after = await tray.get(plain.remote(9));
console.log('RESULT ' + JSON.stringify({ others, othersWhileHung, hungResult, after }));
await tray.shutdown();
`,
    );
    const r = resultOf(run);
    expect(r.others).toEqual([0, 1, 2, 3]);
    expect(r.othersWhileHung).toBe(true);
    expect(r.hungResult.name).toBe('RuntimeEnvSetupError');
    expect(r.hungResult.message).toMatch(/took longer than 15000 ms \(runtimeEnv\.config\.setupTimeoutMs\)/);
    expect(r.after).toBe(9);
    expect(run.code).toBe(0);
  });

  it("eagerInstall: the job's env is set up at init; its failure shows on the first task that needs it", async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'quota.mjs'), QUOTA);
    const tries = path.join(tmp, 'tries.log');
    const run = await runDriver(
      app,
      tmp,
      `
import { existsSync, readFileSync } from 'node:fs';
const TRIES = ${JSON.stringify(tries)};
const count = () => (existsSync(TRIES) ? readFileSync(TRIES, 'utf8').split('\\n').filter(Boolean).length : 0);
// init resolves although the env it installs fails (the driver would exit with no RESULT otherwise).
await tray.init({ numCpus: 1, runtimeEnvPlugins: ['./quota.mjs'], runtimeEnv: { quota: TRIES } });
// No task submitted yet: the node tries the job's env on its own (3 tries, as Ray's agent).
for (const end = Date.now() + 60000; count() < 3; await new Promise((r) => setTimeout(r, 100)))
  if (Date.now() > end) throw new Error('the job env was not set up at init');
const triesBeforeAnyTask = count();
const f = tray.remote(() => 'ran');
const first = await tray.get(f.remote()).then(() => 'ran', (e) => ({ name: e.name, message: e.message }));
const triesAfterTask = count();
console.log('RESULT ' + JSON.stringify({ triesBeforeAnyTask, first, triesAfterTask }));
await tray.shutdown();
`,
      { TRAY_RUNTIME_ENV_RETRY_INTERVAL_MS: '100' },
    );
    const r = resultOf(run);
    expect(r.triesBeforeAnyTask).toBe(3);
    expect(r.first.name).toBe('RuntimeEnvSetupError');
    expect(r.first.message).toMatch(/no quota left for this job \(ask the operator for more\)/);
    // The failed env fails at once (Ray's bad runtime env cache), not tried again.
    expect(r.triesAfterTask).toBe(3);
    expect(run.code).toBe(0);
  });
});
