// The Serve page's reading of Ray's ServeInstanceDetails: what the server makes of serve's status
// record (serve-details.ts) comes out as applications, deployments and replicas; Ray's empty
// answer (serve not running) reads as not running; a mistyped field shows as empty.
import { describe, expect, it } from 'vitest';
import { serveView } from '../ui/web/serve.js';
import { emptyServeDetails, serveDetails } from './serve-details.js';

describe('the Serve page’s data', () => {
  it('reads the applications, deployments and replicas the server answers', () => {
    const details = serveDetails({
      proxyLocation: 'EveryNode',
      http: { host: '127.0.0.1', port: 8000 },
      controller: { nodeId: 'n1' },
      proxies: { n1: 'HEALTHY' },
      applications: {
        greet: {
          routePrefix: '/greet',
          status: 'RUNNING',
          lastDeployedTimeMs: 1_700_000_000_000,
          deployments: {
            Greeter: {
              status: 'HEALTHY',
              targetReplicas: 2,
              replicaStates: { RUNNING: 1, STARTING: 1 },
              replicas: [{ replicaId: 'r1', state: 'RUNNING', nodeId: 'n1', pid: 42, actorId: 'a1' }],
            },
          },
        },
      },
    });
    const view = serveView(details);
    expect(view).toMatchObject({
      running: true,
      proxyLocation: 'EveryNode',
      httpPort: 8000,
      proxies: [{ node_id: 'n1', status: 'HEALTHY' }],
      controllerNode: 'n1',
    });
    expect(view.applications).toEqual([
      {
        name: 'greet',
        route_prefix: '/greet',
        status: 'RUNNING',
        message: '',
        last_deployed_time_s: 1_700_000_000,
        deployments: [
          {
            name: 'Greeter',
            status: 'HEALTHY',
            message: '',
            target_num_replicas: 2,
            replica_states: { RUNNING: 1, STARTING: 1 },
            replicas: [
              {
                replica_id: 'r1',
                state: 'RUNNING',
                node_id: 'n1',
                node_ip: null,
                actor_id: 'a1',
                pid: 42,
                start_time_s: null,
              },
            ],
          },
        ],
      },
    ]);
  });

  it('reads Ray’s empty answer as serve not running, and mistyped fields as empty', () => {
    expect(serveView(emptyServeDetails())).toMatchObject({ running: false, applications: [], proxies: [] });
    const odd = serveView({ applications: { a: { status: 7, deployments: { d: { replicas: 'x' } } } } });
    expect(odd.applications[0]).toMatchObject({
      status: 'UNKNOWN',
      deployments: [{ name: 'd', replicas: [] }],
    });
  });
});
