// Parses a command's flags against its declared spec. It accepts `--name value` and
// `--name=value`, rejects unknown flags, missing values, positional arguments and values of the
// wrong kind with a UsageError that names the flag and says what was expected.
import { UsageError } from './usage-error.js';

export type FlagKind = 'boolean' | 'string' | 'count' | 'number' | 'port' | 'json-resources';

export interface FlagSpec {
  kind: FlagKind;
  /** Lower bound for 'count' (default 0). */
  min?: number;
}

export type FlagValue = boolean | string | number | Record<string, number>;
export type ParsedFlags = Record<string, FlagValue | undefined>;

/** Flag names are kebab-case in the spec and come back camelCased (`--num-cpus` → numCpus). */
export function parseFlags(command: string, argv: string[], spec: Record<string, FlagSpec>): ParsedFlags {
  const out: ParsedFlags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      throw new UsageError(`unexpected argument '${arg}' (flags start with --)`, command);
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const flag = spec[name];
    if (!flag) throw new UsageError(`unknown flag --${name}`, command);
    const key = camel(name);
    if (key in out) throw new UsageError(`--${name} was given twice`, command);
    if (flag.kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`, command);
      out[key] = true;
      continue;
    }
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new UsageError(`--${name} needs a value`, command);
      }
      raw = next;
      i++;
    }
    out[key] = convert(command, name, flag, raw);
  }
  return out;
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function convert(command: string, name: string, flag: FlagSpec, raw: string): FlagValue {
  switch (flag.kind) {
    case 'string':
      if (raw.length === 0) throw new UsageError(`--${name} needs a non-empty value`, command);
      return raw;
    case 'count': {
      const min = flag.min ?? 0;
      if (!/^\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
        throw new UsageError(`--${name} must be a whole number ≥ ${min}, got '${raw}'`, command);
      }
      return Number(raw);
    }
    case 'number': {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value) || value < 0) {
        throw new UsageError(`--${name} must be a number ≥ 0, got '${raw}'`, command);
      }
      return value;
    }
    case 'port': {
      const value = Number(raw);
      if (!/^\d+$/.test(raw) || value > 65535) {
        throw new UsageError(
          `--${name} must be a port number 0..65535 (0: any free port), got '${raw}'`,
          command,
        );
      }
      return value;
    }
    case 'json-resources':
      return parseResources(command, name, raw);
    default:
      throw new TypeError(`flag --${name} has an unknown kind`);
  }
}

function parseResources(command: string, name: string, raw: string): Record<string, number> {
  const hint = `--${name} must be a JSON object of resource amounts, e.g. '{"custom": 2}'`;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new UsageError(`${hint}; '${raw}' is not JSON`, command);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${hint}; got ${raw}`, command);
  }
  const out: Record<string, number> = {};
  for (const [key, amount] of Object.entries(value)) {
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) {
      throw new UsageError(`${hint}; "${key}" is ${JSON.stringify(amount)}`, command);
    }
    if (['CPU', 'GPU', 'memory', 'object_store_memory'].includes(key)) {
      throw new UsageError(`--${name} must not set "${key}": use its own flag (--num-cpus, ...)`, command);
    }
    out[key] = amount;
  }
  return out;
}
