// `envVars`: variables set in the worker. Names must be valid environment variable names, and
// only the variables tray itself uses are refused (INTERNAL_ENV_VARS), not every TRAY_ name.
import { INTERNAL_ENV_VARS } from '../internal-env.js';
import type { RuntimeEnvPlugin } from '../plugin.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const envVarsPlugin: RuntimeEnvPlugin<Record<string, string>> = {
  name: 'envVars',
  priority: 0,
  validate(value) {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new TypeError(`runtimeEnv.envVars must be an object of name → string value, got ${typeof value}`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
      if (!NAME.test(k))
        throw new TypeError(
          `runtimeEnv.envVars: ${JSON.stringify(k)} is not a valid environment variable name`,
        );
      if (INTERNAL_ENV_VARS.has(k))
        throw new TypeError(
          `runtimeEnv.envVars must not set ${k}: tray sets it in every worker (pick another name)`,
        );
      if (typeof v !== 'string')
        throw new TypeError(`runtimeEnv.envVars.${k} must be a string, got ${typeof v}`);
      out[k] = v;
    }
    return out;
  },
  uris: () => [],
  create: async () => 0,
  modifyContext(_uris, value, context) {
    Object.assign(context.env, value);
  },
  delete: async () => 0,
};
