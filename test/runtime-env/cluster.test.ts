// Runtime envs on a cluster built as a user builds it: `tray start --head` and a second node
// `tray start --address`, both loading an operator's plugin file (--runtime-env-plugins). Jobs
// are drivers joining with tray.init({ address }). What must hold: a task on the second node
// gets the same working dir and npm packages; the operator's plugin sets workers up on both
// nodes; a second job with the same env installs nothing (the node's cache is reused); and on
// a node whose cache limit is tiny, an env nobody uses any more is deleted from its cache.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, nodeStats, packPackage, resultOf, runDriver, startNode, tmpdir } from './helpers.js';

afterEach(cleanUp);

const PLUGIN = `
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
export default {
  name: 'greeting',
  priority: 50,
  validate(value) {
    if (typeof value !== 'string' || value === '') throw new TypeError('runtimeEnv.greeting must be a word');
    return value;
  },
  uris: (value) => ['greeting://' + value],
  async create(uri, value, ctx) {
    const text = value + ' from the plugin';
    writeFileSync(join(ctx.cacheDir, value), text);
    return text.length;
  },
  modifyContext(uris, value, context, ctx) {
    context.env.GREETING = readFileSync(join(ctx.cacheDir, value), 'utf8');
  },
  async delete(uri, ctx) { rmSync(join(ctx.cacheDir, uri.slice('greeting://'.length)), { force: true }); return 0; },
};
`;

describe('runtime envs across nodes', () => {
  it('a second node gets the same env; a second job installs nothing; unused envs are collected', async () => {
    const work = tmpdir();
    const plugin = path.join(work, 'greeting-plugin.mjs');
    writeFileSync(plugin, PLUGIN);
    const app = path.join(work, 'app');
    mkdirSync(path.join(app, 'project'), { recursive: true });
    writeFileSync(path.join(app, 'project', 'where.js'), "module.exports = 'project file';");
    packPackage(app, 'trayenv-chunk', '1.0.0', "module.exports = { version: '1.0.0' };");
    packPackage(app, 'trayenv-chunk', '2.0.0', "module.exports = { version: '2.0.0' };");

    const head = await startNode([
      '--head',
      '--port',
      '0',
      '--num-cpus',
      '1',
      '--runtime-env-plugins',
      plugin,
    ]);
    const b = await startNode(
      ['--address', head.record.gcsAddress, '--num-cpus', '1', '--runtime-env-plugins', plugin],
      {
        TRAY_TOKEN: head.token,
        // Every env nobody uses is deleted from this node's cache at once.
        TRAY_RUNTIME_ENV_CACHE_BYTES: '1',
      },
    );
    const env = { TRAY_TOKEN: head.token };
    const job = (body: string) =>
      runDriver(
        app,
        head.tmp,
        `
await tray.init({ address: ${JSON.stringify(head.record.gcsAddress)}, runtimeEnvPlugins: [${JSON.stringify(plugin)}] });
const on = (nodeId) => ({ schedulingStrategy: { nodeId, soft: false } });
const probe = tray.remote(() => ({ node: tray.getRuntimeContext().nodeId, where: require('./where.js'), version: require('trayenv-chunk').version, greeting: process.env.GREETING }))
  .options({ runtimeEnv: { workingDir: './project', npm: ['./trayenv-chunk-1.0.0.tgz'], greeting: 'hello' } });
${body}
await tray.shutdown();
`,
        env,
      );

    const first = await job(`
console.log('RESULT ' + JSON.stringify(await tray.get([probe.options(on(${JSON.stringify(head.record.nodeId)})).remote(), probe.options(on(${JSON.stringify(b.record.nodeId)})).remote()])));
`);
    const expected = { where: 'project file', version: '1.0.0', greeting: 'hello from the plugin' };
    expect(resultOf(first)).toEqual([
      { node: head.record.nodeId, ...expected },
      { node: b.record.nodeId, ...expected },
    ]);
    const afterFirst = await nodeStats(head.record.gcsAddress, head.token);
    const headCreated = Number(afterFirst.get(head.record.nodeId)!.runtimeEnvCreated);
    // working dir, npm set, greeting
    expect(headCreated).toBe(3);
    expect(
      afterFirst
        .get(head.record.nodeId)!
        .runtimeEnvCache.map((e) => e.plugin)
        .sort(),
    ).toEqual(['greeting', 'npm', 'workingDir']);

    const second = await job(`
console.log('RESULT ' + JSON.stringify(await tray.get(probe.options(on(${JSON.stringify(head.record.nodeId)})).remote())));
`);
    expect(resultOf(second)).toEqual({ node: head.record.nodeId, ...expected });
    const afterSecond = await nodeStats(head.record.gcsAddress, head.token);
    expect(Number(afterSecond.get(head.record.nodeId)!.runtimeEnvCreated)).toBe(headCreated);

    // Node B: once its env's worker idled out, the env's entries go (the limit is 1 byte).
    const cacheOfB = await waitFor(
      async () => {
        const cache = (await nodeStats(head.record.gcsAddress, head.token)).get(
          b.record.nodeId,
        )!.runtimeEnvCache;
        return cache.length === 0 ? cache : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'node B to collect its unused env' },
    );
    expect(cacheOfB).toEqual([]);
    // ...and from its disk: the unpacked working dir and the npm set are gone.
    const cacheDirs = readdirSync(path.join(b.tmp, 'tray'))
      .filter((s) => s.startsWith('session_'))
      .flatMap((s) => {
        const root = path.join(b.tmp, 'tray', s, 'runtime_resources');
        return existsSync(root) ? readdirSync(root).map((n) => path.join(root, n)) : [];
      });
    expect(cacheDirs.length).toBe(1);
    expect(readdirSync(path.join(cacheDirs[0]!, 'npm'))).toEqual([]);
    expect(readdirSync(path.join(cacheDirs[0]!, 'workingDir'))).toEqual([]);
    // The head (10 GiB limit) keeps them for the next job.
    expect(
      (await nodeStats(head.record.gcsAddress, head.token)).get(head.record.nodeId)!.runtimeEnvCache.length,
    ).toBe(3);
  });
});
