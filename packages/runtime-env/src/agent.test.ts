import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RuntimeEnvAgent } from './agent.js';
import { type RuntimeEnvPlugin, RuntimeEnvSetupFailure } from './plugin.js';
import { BUILTIN_PLUGINS, PluginRegistry } from './registry.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A plugin whose create is held until `release()`d, counting creations and deletions. */
function gated() {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const counts = { created: 0, deleted: 0, tries: 0 };
  const plugin: RuntimeEnvPlugin<string> = {
    name: 'slow',
    priority: 20,
    validate: (v) => {
      if (typeof v !== 'string') throw new TypeError('runtimeEnv.slow must be a string');
      return v;
    },
    uris: (v) => [`slow://${v}`],
    async create(_uri, value) {
      await gate;
      counts.tries++;
      if (value === 'fail') throw new RuntimeEnvSetupFailure('slow: the build of "fail" broke (line 3)');
      counts.created++;
      return 10;
    },
    modifyContext: (_u, v, c) => {
      c.env.SLOW = v;
    },
    async delete() {
      counts.deleted++;
      return 10;
    },
  };
  return { plugin, counts, open };
}

function agent(plugin: RuntimeEnvPlugin, limit?: number, badEnvTtlMs?: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-agent-test-'));
  dirs.push(dir);
  return new RuntimeEnvAgent({
    registry: new PluginRegistry([...BUILTIN_PLUGINS, plugin]),
    cacheDir: dir,
    sessionDir: dir,
    installPaths: [],
    fetchPackage: async () => {
      throw new Error('no packages here');
    },
    cacheLimitBytes: limit,
    retryIntervalMs: 10,
    badEnvTtlMs,
  });
}

describe('RuntimeEnvAgent', () => {
  it('creates a URI once for concurrent setups, references it per setup, and collects it when unused', async () => {
    const { plugin, counts, open } = gated();
    const a = agent(plugin, 5);
    const env = JSON.stringify({ slow: 'x', envVars: { K: 'v' } });
    const setups = [a.setup(env), a.setup(env), a.setup(env)];
    open();
    const prepared = await Promise.all(setups);
    expect(counts.created).toBe(1);
    expect(prepared[0]!.context.env).toEqual({ K: 'v', SLOW: 'x' });
    expect(a.stats().entries).toMatchObject([{ uri: 'slow://x', refs: 3, bytes: 10 }]);
    prepared[0]!.release();
    prepared[0]!.release(); // idempotent
    prepared[1]!.release();
    await a.collected();
    expect(a.stats().entries).toMatchObject([{ uri: 'slow://x', refs: 1 }]);
    prepared[2]!.release();
    await a.collected();
    // Over its 5-byte limit and unused: deleted through the plugin.
    expect(a.stats().entries).toEqual([]);
    expect(counts.deleted).toBe(1);
    // A new setup creates it again.
    (await a.setup(env)).release();
    expect(counts.created).toBe(2);
  });

  it("tries a failing create 3 times, fails with the plugin's message, and fails that env at once for a while", async () => {
    const { plugin, counts, open } = gated();
    const a = agent(plugin);
    const failing = a.setup(JSON.stringify({ slow: 'fail' }));
    open();
    await expect(failing).rejects.toThrow(/slow: the build of "fail" broke \(line 3\)/);
    expect(counts.tries).toBe(3);
    // Remembered (Ray's bad runtime env cache): no new tries.
    await expect(a.setup(JSON.stringify({ slow: 'fail' }))).rejects.toThrow(/broke \(line 3\)/);
    expect(counts.tries).toBe(3);
    // Past the time it is remembered, it is tried again.
    const b = agent(plugin, undefined, 0);
    await expect(b.setup(JSON.stringify({ slow: 'fail' }))).rejects.toThrow(/broke/);
    await expect(b.setup(JSON.stringify({ slow: 'fail' }))).rejects.toThrow(/broke/);
    expect(counts.tries).toBe(9);
  });

  it('fails a setup after setupTimeoutMs', async () => {
    const never = gated();
    const b = agent(never.plugin);
    const slow = b.setup(JSON.stringify({ slow: 'y', config: { setupTimeoutMs: 50 } }));
    await expect(slow).rejects.toBeInstanceOf(RuntimeEnvSetupFailure);
    await expect(slow).rejects.toThrow(/took longer than 50 ms \(runtimeEnv.config.setupTimeoutMs\)/);
    never.open();
  });
});
