import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PluginRegistry } from './registry.js';
import {
  mergeRuntimeEnvs,
  parseRuntimeEnv,
  runtimeEnvHash,
  serializeRuntimeEnv,
  validateRuntimeEnv,
} from './runtime-env.js';

describe('runtime env values', () => {
  const registry = new PluginRegistry();

  it("merges a task's env over the job's as Ray does: fields replaced, envVars and config key by key", () => {
    const job = {
      envVars: { A: 'job', B: 'job' },
      npm: { packages: ['a@1'] },
      workingDir: 'tray-pkg://x',
      config: { setupTimeoutMs: 5 },
    };
    const task = { envVars: { B: 'task' }, npm: { packages: ['a@2'] }, config: { eagerInstall: false } };
    expect(mergeRuntimeEnvs(job, task)).toEqual({
      envVars: { A: 'job', B: 'task' },
      npm: { packages: ['a@2'] },
      workingDir: 'tray-pkg://x',
      config: { setupTimeoutMs: 5, eagerInstall: false },
    });
    expect(mergeRuntimeEnvs(undefined, task)).toBe(task);
    expect(mergeRuntimeEnvs(job, undefined)).toBe(job);
  });

  it('serializes canonically: the pool key does not depend on key order; {} is the default env', () => {
    const a = serializeRuntimeEnv({ envVars: { X: '1', Y: '2' }, npm: { packages: ['p'] } });
    const b = serializeRuntimeEnv({ npm: { packages: ['p'] }, envVars: { Y: '2', X: '1' } });
    expect(a).toBe(b);
    expect(runtimeEnvHash(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(serializeRuntimeEnv({})).toBe('');
    expect(runtimeEnvHash('')).toBe('');
  });

  it('checks every field with its plugin, and says which fields exist', () => {
    expect(() => validateRuntimeEnv({ pip: ['x'] }, registry)).toThrow(
      /unknown field "pip" \(known: envVars, workingDir, modules, npm, nodeVersion, container, config, excludes/,
    );
    expect(() => validateRuntimeEnv({ envVars: { TRAY_NODE_ID: 'x' } }, registry)).toThrow(
      /must not set TRAY_NODE_ID/,
    );
    expect(validateRuntimeEnv({ envVars: { TRAY_MODE: 'mine' } }, registry)).toEqual({
      envVars: { TRAY_MODE: 'mine' },
    });
    expect(() => validateRuntimeEnv({ config: { setupTimeoutMs: -1 } }, registry)).toThrow(
      /setupTimeoutMs must be a number of milliseconds > 0/,
    );
    expect(() => validateRuntimeEnv({ nodeVersion: 'latest' }, registry)).toThrow(/a Node major \('22'\)/);
    expect(() => validateRuntimeEnv({ container: { bind: ['relative'] } }, registry)).toThrow(
      /absolute host paths/,
    );
    expect(validateRuntimeEnv({ npm: ['a@1'] }, registry)).toEqual({ npm: { packages: ['a@1'] } });
    expect(() => parseRuntimeEnv('{not json', registry)).toThrow(/not JSON/);
    expect(() => parseRuntimeEnv(`"${'x'.repeat(2 << 20)}"`, registry)).toThrow(/over the 1048576 limit/);
  });
});

describe('PluginRegistry', () => {
  it("loads an operator's plugin file, and refuses files that are not plugins", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-plugins-test-'));
    try {
      const good = path.join(dir, 'good.mjs');
      writeFileSync(
        good,
        "export default { name: 'shout', priority: 20, validate: (v) => String(v), uris: () => [], create: async () => 0, modifyContext: (u, v, c) => { c.env.SHOUT = v.toUpperCase(); }, delete: async () => 0 };",
      );
      const registry = new PluginRegistry();
      await registry.load([good]);
      expect(registry.names).toContain('shout');
      expect(
        registry
          .ordered()
          .map((p) => p.name)
          .indexOf('shout'),
      ).toBeGreaterThan(
        registry
          .ordered()
          .map((p) => p.name)
          .indexOf('npm'),
      );
      await expect(registry.load([good])).rejects.toThrow(/a runtime-env plugin named shout exists already/);
      const noDelete = path.join(dir, 'bad.mjs');
      writeFileSync(
        noDelete,
        "export default { name: 'half', priority: 1, validate() {}, uris() {}, create() {}, modifyContext() {} };",
      );
      await expect(registry.load([noDelete])).rejects.toThrow(/half has no delete\(\)/);
      const nothing = path.join(dir, 'nothing.mjs');
      writeFileSync(nothing, 'export const x = 1;');
      await expect(registry.load([nothing])).rejects.toThrow(/exports no plugin/);
      await expect(registry.load([path.join(dir, 'missing.mjs')])).rejects.toThrow(/could not be loaded/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
