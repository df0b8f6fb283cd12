// The plugins a process knows: the built-ins plus a cluster operator's own, loaded from files
// (`tray start --runtime-env-plugins ./p.mjs`, `tray.init({ runtimeEnvPlugins })`). A plugin
// file's default export (or its `plugins` export) is one plugin or an array of them.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RuntimeEnvPlugin } from './plugin.js';
import { containerPlugin } from './plugins/container.js';
import { envVarsPlugin } from './plugins/env-vars.js';
import { modulesPlugin } from './plugins/modules.js';
import { nodeVersionPlugin } from './plugins/node-version.js';
import { npmPlugin } from './plugins/npm.js';
import { workingDirPlugin } from './plugins/working-dir.js';

/** Fields of a runtime env that belong to no plugin. */
export const RESERVED_FIELDS = ['config', 'excludes'];

export const BUILTIN_PLUGINS: readonly RuntimeEnvPlugin[] = [
  envVarsPlugin,
  workingDirPlugin,
  modulesPlugin,
  npmPlugin,
  nodeVersionPlugin,
  containerPlugin,
] as RuntimeEnvPlugin[];

const METHODS = ['validate', 'uris', 'create', 'modifyContext', 'delete'] as const;

export class PluginRegistry {
  private readonly plugins = new Map<string, RuntimeEnvPlugin>();

  constructor(plugins: readonly RuntimeEnvPlugin[] = BUILTIN_PLUGINS) {
    for (const p of plugins) this.register(p);
  }

  /** Add a plugin; its name must be new and it must have every method of the interface. */
  register(plugin: unknown, from = 'a plugin'): void {
    const p = plugin as RuntimeEnvPlugin;
    if (
      p === null ||
      typeof p !== 'object' ||
      typeof p.name !== 'string' ||
      !/^[A-Za-z][A-Za-z0-9_]*$/.test(p.name)
    )
      throw new TypeError(`${from}: a runtime-env plugin needs a name (letters, digits, _)`);
    for (const m of METHODS) {
      if (typeof p[m] !== 'function')
        throw new TypeError(
          `${from}: runtime-env plugin ${p.name} has no ${m}() (see @tray/runtime-env's RuntimeEnvPlugin)`,
        );
    }
    if (typeof p.priority !== 'number' || !Number.isFinite(p.priority))
      throw new TypeError(`${from}: runtime-env plugin ${p.name} needs a numeric priority`);
    if (this.plugins.has(p.name) || RESERVED_FIELDS.includes(p.name))
      throw new TypeError(`${from}: a runtime-env plugin named ${p.name} exists already`);
    this.plugins.set(p.name, p);
  }

  get(name: string): RuntimeEnvPlugin | undefined {
    return this.plugins.get(name);
  }

  get names(): string[] {
    return [...this.plugins.keys()];
  }

  /** Plugins in the order their `modifyContext` runs (priority, then name). */
  ordered(): RuntimeEnvPlugin[] {
    return [...this.plugins.values()].sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
  }

  /** Import plugin files (paths relative to `baseDir`) and register what they export. */
  async load(files: readonly string[], baseDir = process.cwd()): Promise<void> {
    for (const file of files) {
      const path = isAbsolute(file) ? file : resolve(baseDir, file);
      let mod: Record<string, unknown>;
      try {
        mod = await import(pathToFileURL(path).href);
      } catch (err) {
        throw new Error(`runtime-env plugin file ${path} could not be loaded: ${(err as Error).message}`);
      }
      const exported = mod.default ?? mod.plugins ?? mod.plugin;
      if (exported === undefined)
        throw new TypeError(
          `runtime-env plugin file ${path} exports no plugin (export default { name, priority, validate, ... })`,
        );
      for (const p of Array.isArray(exported) ? exported : [exported]) this.register(p, path);
    }
  }
}
