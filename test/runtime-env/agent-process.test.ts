// The runtime-env agent is a process of its own per node, started and supervised by the
// raylet (`tray start` here, with a plugin written in the test). SIGKILL it in the middle of a
// setup: the raylet restarts it (a stderr line in its log), the setup's command (a `sleep` in
// its own process group) goes with the dead agent, the setup runs again in the new agent and
// the env comes up; unrelated tasks keep running meanwhile; `tray stop` leaves no agent. With
// restarts turned off (TRAY_RUNTIME_ENV_AGENT_MAX_RESTARTS=0) the task fails with
// RuntimeEnvSetupError saying the agent died.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, nodeStats, resultOf, runDriver, startNode, tmpdir, trayCli } from './helpers.js';

afterEach(cleanUp);

// The first setup (no `started` mark yet) sleeps for ten minutes; a later one for a moment.
const SLOW = `import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const marks = new URL('./marks/', import.meta.url).pathname;
export default {
  name: 'slow', priority: 60,
  validate(v) { if (typeof v !== 'string' || v === '') throw new TypeError('runtimeEnv.slow must be a word'); return v; },
  uris: (v) => ['slow://' + v],
  async create(uri, v, ctx) {
    mkdirSync(marks, { recursive: true });
    const first = !existsSync(join(marks, 'started'));
    writeFileSync(join(marks, first ? 'started' : 'again'), String(process.pid));
    const pidFile = join(marks, first ? 'sleep-1' : 'sleep-2');
    const r = await ctx.run('sh', ['-c', 'echo $$ > ' + pidFile + '; exec sleep ' + (first ? 600 : 0.2)]);
    if (r.code !== 0) throw new Error('sleep ended with ' + r.signal);
    writeFileSync(join(ctx.cacheDir, v), 'ready in agent ' + process.pid);
    return 5;
  },
  modifyContext(uris, v, context, ctx) { context.env.SLOW = readFileSync(join(ctx.cacheDir, v), 'utf8'); },
  async delete(uri, ctx) { rmSync(join(ctx.cacheDir, uri.slice('slow://'.length)), { force: true }); return 0; },
};`;

const DRIVER = (gcsAddress: string, marks: string) => `
await tray.init({ address: ${JSON.stringify(gcsAddress)}, runtimeEnvPlugins: ['./slow.mjs'] });
const { existsSync } = await import('node:fs');
const f = tray.remote(() => process.env.SLOW);
const plain = tray.remote((i) => i);
let settled = false;
const env = tray.get(f.options({ runtimeEnv: { slow: 'one', config: { eagerInstall: false } } }).remote())
  .then((v) => v, (e) => ({ name: e.name, message: e.message }))
  .finally(() => { settled = true; });
let plainAfterKill = 0;
for (let i = 0; !settled; i++) {
  if ((await tray.get(plain.remote(i))) !== i) throw new Error('wrong result');
  if (existsSync(${JSON.stringify(path.join(marks, 'killed'))})) plainAfterKill++;
}
console.log('RESULT ' + JSON.stringify({ env: await env, plainAfterKill }));
await tray.shutdown();
`;

async function setUp(env: Record<string, string> = {}) {
  const work = tmpdir();
  writeFileSync(path.join(work, 'slow.mjs'), SLOW);
  const marks = path.join(work, 'marks');
  mkdirSync(marks);
  const head = await startNode(
    ['--head', '--port', '0', '--num-cpus', '2', '--runtime-env-plugins', path.join(work, 'slow.mjs')],
    env,
  );
  const stats = async () => (await nodeStats(head.record.gcsAddress, head.token)).get(head.record.nodeId)!;
  const driver = runDriver(work, head.tmp, DRIVER(head.record.gcsAddress, marks), { TRAY_TOKEN: head.token });
  // The setup is under way: its sleep runs in the agent.
  const sleepPid = await waitFor(
    () => {
      const file = path.join(marks, 'sleep-1');
      const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
      return pid > 0 ? pid : undefined;
    },
    { timeoutMs: 60_000, what: "the slow plugin's first setup to start" },
  );
  const agentPid = Number(readFileSync(path.join(marks, 'started'), 'utf8'));
  expect((await stats()).runtimeEnvAgentPid).toBe(agentPid);
  expect(agentPid).not.toBe(head.record.pids.raylet);
  expect(isAlive(sleepPid)).toBe(true);
  process.kill(agentPid, 'SIGKILL');
  writeFileSync(path.join(marks, 'killed'), '');
  return { head, marks, driver, stats, sleepPid, agentPid };
}

function rayletLog(tmp: string): string {
  const root = path.join(tmp, 'tray');
  let text = '';
  for (const s of readdirSync(root).filter((n) => n.startsWith('session_'))) {
    const logs = path.join(root, s, 'logs');
    if (!existsSync(logs)) continue;
    for (const f of readdirSync(logs).filter((n) => n.startsWith('raylet')))
      text += readFileSync(path.join(logs, f), 'utf8');
  }
  return text;
}

describe('the runtime-env agent process', () => {
  it('SIGKILLed mid-setup: restarted by the raylet, the setup runs again there, other tasks go on; tray stop leaves no agent', async () => {
    const { head, marks, driver, stats, sleepPid, agentPid } = await setUp();
    const r = resultOf(await driver);
    // The env came up, set up by the restarted agent (a second try of the plugin's create).
    const newAgent = Number(readFileSync(path.join(marks, 'again'), 'utf8'));
    expect(newAgent).not.toBe(agentPid);
    expect(r.env).toBe(`ready in agent ${newAgent}`);
    expect(r.plainAfterKill).toBeGreaterThan(0);
    // The dead agent's setup command was killed with it (its own process group).
    await waitFor(() => !isAlive(sleepPid), {
      timeoutMs: 15_000,
      what: "the dead agent's sleep to be killed",
    });
    const after = await stats();
    expect(after.runtimeEnvAgentPid).toBe(newAgent);
    expect(after.runtimeEnvAgentRestarts).toBe(1);
    expect(after.runtimeEnvCache.map((e) => e.uri)).toEqual(['slow://one']);
    expect(rayletLog(head.tmp)).toContain(
      `the runtime-env agent (pid ${agentPid}) exited (code null, signal SIGKILL); restarting it`,
    );

    const stop = await trayCli(['stop', '--grace-ms', '5000'], head.tmp);
    expect(stop.code).toBe(0);
    await waitFor(() => !isAlive(newAgent), { timeoutMs: 15_000, what: 'the agent to exit with its node' });
  });

  it('with restarts used up, a setup waiting on the dead agent fails with RuntimeEnvSetupError saying so', async () => {
    const { driver, stats, sleepPid } = await setUp({ TRAY_RUNTIME_ENV_AGENT_MAX_RESTARTS: '0' });
    const r = resultOf(await driver);
    expect(r.env.name).toBe('RuntimeEnvSetupError');
    expect(r.env.message).toMatch(
      /runtime-env agent died 1 times in a row .*TRAY_RUNTIME_ENV_AGENT_MAX_RESTARTS=0/,
    );
    await waitFor(() => !isAlive(sleepPid), {
      timeoutMs: 15_000,
      what: "the dead agent's sleep to be killed",
    });
    expect((await stats()).runtimeEnvAgentPid).toBe(0);
  });
});
