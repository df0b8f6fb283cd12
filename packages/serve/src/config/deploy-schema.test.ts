import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseImportPath, readServeConfig } from './deploy-schema.js';

// A config as Ray's docs write one (serve build's output shape), in snake_case.
const RAY_YAML = `
proxy_location: EveryNode
http_options:
  host: 0.0.0.0
  port: 8123
  request_timeout_s: 2.5
applications:
  - name: text
    route_prefix: /text
    import_path: ./apps/text.mjs:app
    args: { model: small }
    runtime_env:
      env_vars: { A: "1" }
    deployments:
      - name: Summarizer
        num_replicas: 2
        max_ongoing_requests: 8
        user_config: { threshold: 0.5 }
        health_check_period_s: 5
        ray_actor_options: { num_cpus: 0.5, resources: { custom: 1 } }
      - name: Translator
        autoscaling_config:
          min_replicas: 0
          max_replicas: 4
          target_ongoing_requests: 3
          upscale_delay_s: 1
  - name: other
    route_prefix: null
    import_path: other.mjs
`;

describe('readServeConfig', () => {
  it("reads Ray's snake_case schema into camelCase and milliseconds", () => {
    const c = readServeConfig(parse(RAY_YAML));
    expect(c.proxyLocation).toBe('EveryNode');
    expect(c.http).toEqual({ host: '0.0.0.0', port: 8123, requestTimeoutMs: 2500 });
    const [text, other] = c.applications;
    expect(text).toMatchObject({
      name: 'text',
      routePrefix: '/text',
      importPath: './apps/text.mjs:app',
      args: { model: 'small' },
    });
    expect(text?.runtimeEnv).toEqual({ envVars: { A: '1' } });
    expect(text?.deployments[0]).toEqual({
      name: 'Summarizer',
      numReplicas: 2,
      maxOngoingRequests: 8,
      userConfig: { threshold: 0.5 },
      healthCheckPeriodMs: 5000,
      actorOptions: { numCpus: 0.5, resources: { custom: 1 } },
    });
    expect(text?.deployments[1]?.autoscalingConfig).toEqual({
      minReplicas: 0,
      maxReplicas: 4,
      targetOngoingRequests: 3,
      upscaleDelayMs: 1000,
    });
    expect(other).toMatchObject({ name: 'other', routePrefix: null, deployments: [], args: {} });
  });

  it('takes the same config in camelCase, seconds or milliseconds, with defaults for what is left out', () => {
    const c = readServeConfig({
      applications: [
        {
          importPath: 'a.mjs:app',
          deployments: [{ name: 'A', healthCheckPeriodMs: 250, gracefulShutdownTimeoutS: 2 }],
        },
      ],
    });
    expect(c.proxyLocation).toBe('EveryNode');
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8000 });
    expect(c.applications[0]).toMatchObject({ name: 'default', routePrefix: '/' });
    expect(c.applications[0]?.deployments[0]).toEqual({
      name: 'A',
      healthCheckPeriodMs: 250,
      gracefulShutdownTimeoutMs: 2000,
    });
    expect(readServeConfig({ proxy_location: 'head_only' }).proxyLocation).toBe('HeadOnly');
  });

  it('names the bad field by its path and says what it takes', () => {
    const bad = (config: unknown) => () => readServeConfig(config);
    expect(
      bad({ applications: [{ import_path: 'a.mjs:x', deployments: [{ name: 'A', num_replicas: -1 }] }] }),
    ).toThrow('serve config: applications[0].deployments[0].num_replicas: must be an integer ≥ 0, got -1');
    expect(
      bad({ applications: [{ import_path: 'a.mjs:x', deployments: [{ name: 'A', num_replica: 2 }] }] }),
    ).toThrow(
      /applications\[0\]\.deployments\[0\]\.num_replica: unknown field \(the fields here: name, num_replicas/,
    );
    expect(bad({ applications: [{ route_prefix: '/' }] })).toThrow(
      "applications[0].import_path: is required: 'path/to/module.mjs:exportName'",
    );
    expect(bad({ applications: [{ import_path: 'a.mjs:not-a-name' }] })).toThrow(
      /import_path: must be 'path\/to\/module.mjs:exportName'/,
    );
    expect(bad({ applications: [{ import_path: 'a.mjs', route_prefix: 'api' }] })).toThrow(
      /route_prefix: must start with "\/"/,
    );
    expect(bad({ http_options: { port: 70000 } })).toThrow(
      'http_options.port: must be a port number 0–65535, got 70000',
    );
    expect(bad({ proxy_location: 'Everywhere' })).toThrow(
      'proxy_location: must be one of EveryNode, HeadOnly, Disabled, got "Everywhere"',
    );
    expect(bad({ applications: [{ import_path: 'a.mjs' }, { import_path: 'b.mjs' }] })).toThrow(
      /applications\[1\]\.name: default is used by two/,
    );
    expect(
      bad({
        applications: [
          { name: 'a', import_path: 'a.mjs' },
          { name: 'b', import_path: 'b.mjs' },
        ],
      }),
    ).toThrow(/applications\[1\]\.route_prefix: \/ is already the route of a/);
    expect(
      bad({
        applications: [
          { import_path: 'a.mjs', deployments: [{ name: 'A', num_replicas: 1, numReplicas: 2 }] },
        ],
      }),
    ).toThrow(/numReplicas: given twice \(also as num_replicas\)/);
    expect(
      bad({
        applications: [
          {
            import_path: 'a.mjs',
            deployments: [{ name: 'A', autoscaling_config: { min_replicas: 3, max_replicas: 1 } }],
          },
        ],
      }),
    ).toThrow(/autoscaling_config.min_replicas: \(3\) must not be above max_replicas \(1\)/);
    expect(bad([])).toThrow('serve config: (config): must be a mapping of fields, got a list');
  });

  it('splits an import path into module and export (default when none is named)', () => {
    expect(parseImportPath('dir/app.mjs:App')).toEqual({ module: 'dir/app.mjs', exportName: 'App' });
    expect(parseImportPath('dir/app.mjs')).toEqual({ module: 'dir/app.mjs', exportName: 'default' });
    expect(parseImportPath('C:\\apps\\a.mjs')).toEqual({ module: 'C:\\apps\\a.mjs', exportName: 'default' });
  });
});
