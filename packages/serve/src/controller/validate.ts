// The controller's check of what callers send it (an application spec, metrics, listen
// arguments): they come over the network from any process of the cluster, so a malformed one is
// refused with a message naming the field, before it can reach the control loop.
import type { AppSpec, HandleMetrics } from './types.js';

function fail(message: string): never {
  throw new TypeError(`serve controller: ${message}`);
}

const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

export function checkAppSpec(spec: unknown): asserts spec is AppSpec {
  if (spec === null || typeof spec !== 'object') fail('deployApplication takes an application spec object');
  const s = spec as Record<string, unknown>;
  if (!isName(s.name)) fail(`application name must be a non-empty string, got ${JSON.stringify(s.name)}`);
  if (s.routePrefix !== null && !(typeof s.routePrefix === 'string' && s.routePrefix.startsWith('/'))) {
    fail(`routePrefix must start with '/' or be null, got ${JSON.stringify(s.routePrefix)}`);
  }
  if (!Array.isArray(s.deployments) || s.deployments.length === 0)
    fail('an application needs at least one deployment');
  const names = new Set<string>();
  for (const d of s.deployments as Array<Record<string, unknown>>) {
    if (d === null || typeof d !== 'object' || !isName(d.name)) fail('every deployment needs a name');
    if (names.has(d.name as string)) fail(`deployment ${JSON.stringify(d.name)} appears twice`);
    names.add(d.name as string);
    if (d.kind !== 'class' && d.kind !== 'function')
      fail(`deployment ${d.name}: kind must be 'class' or 'function'`);
    if (
      d.code === null ||
      typeof d.code !== 'object' ||
      typeof (d.code as { local?: unknown }).local !== 'function'
    ) {
      fail(`deployment ${d.name}: code must be a tray RemoteFunction or ActorClass`);
    }
    if (!Array.isArray(d.initArgs)) fail(`deployment ${d.name}: initArgs must be an array`);
    if (!isName(d.codeVersion)) fail(`deployment ${d.name}: codeVersion must be a string`);
    const o = d.options as Record<string, unknown> | undefined;
    if (o === null || typeof o !== 'object') fail(`deployment ${d.name}: options missing`);
    if (!isCount(o.numReplicas)) fail(`deployment ${d.name}: numReplicas must be an integer >= 0`);
    if (!isCount(o.maxOngoingRequests) || o.maxOngoingRequests < 1)
      fail(`deployment ${d.name}: maxOngoingRequests must be >= 1`);
    if (!(o.maxQueuedRequests === -1 || isCount(o.maxQueuedRequests)))
      fail(`deployment ${d.name}: maxQueuedRequests must be -1 or >= 0`);
    for (const key of [
      'healthCheckPeriodMs',
      'healthCheckTimeoutMs',
      'gracefulShutdownTimeoutMs',
      'gracefulShutdownWaitLoopMs',
    ]) {
      if (typeof o[key] !== 'number' || !((o[key] as number) >= 0))
        fail(`deployment ${d.name}: ${key} must be a number >= 0`);
    }
  }
  if (!names.has(s.ingress as string))
    fail(`the ingress ${JSON.stringify(s.ingress)} is not one of the deployments`);
}

export function checkMetrics(m: unknown): m is HandleMetrics {
  if (m === null || typeof m !== 'object') return false;
  const x = m as Record<string, unknown>;
  return (
    isName(x.handleId) && isName(x.app) && isName(x.deployment) && isCount(x.queued) && isCount(x.ongoing)
  );
}

export function checkListen(app: unknown, deployment: unknown, known: unknown, waitMs: unknown): void {
  if (!isName(app) || !isName(deployment))
    fail('listenRouting(app, deployment, ...): names must be non-empty strings');
  if (typeof known !== 'number' || typeof waitMs !== 'number' || !(waitMs >= 0) || waitMs > 60_000) {
    fail('listenRouting: knownVersion must be a number and waitMs 0..60000');
  }
}
