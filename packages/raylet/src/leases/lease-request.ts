// A WorkerLeaseRequest from the wire, checked and turned into what the lease manager needs:
// the resources to schedule with and to hold, the scheduling strategy, the runtime environment
// (its hash keys the worker pool) and the owner. Actor creation leases schedule with the
// actor's placement resources (1 CPU by default) but hold only its required resources (0 CPU
// by default), as Ray does. A request into a placement-group bundle schedules with and holds
// the bundle's renamed resources (`CPU_group_<index>_<pg>`, or `CPU_group_<pg>` for any bundle).
import { createHash, randomBytes } from 'node:crypto';
import { checkId, checkLeaseId, checkString, IdBytes, invalidArgument, tray } from '@tray/protocol';
import { INTERNAL_ENV_VARS, type PluginRegistry, parseRuntimeEnv, runtimeEnvHash } from '@tray/runtime-env';
import { bundleResources, InvalidResourceError, ResourceSet, type SchedulingStrategy } from '@tray/scheduler';
import { toResourceSet } from '../request-validation.js';

export interface LeaseRequest {
  leaseId: Buffer;
  /** What must be free to grant (placement resources for actors). */
  schedule: ResourceSet;
  /** What the lease holds while granted. */
  hold: ResourceSet;
  /** What the task asked for, before any renaming into a bundle (for the policy and messages). */
  asked: ResourceSet;
  isActor: boolean;
  actorId: Buffer | undefined;
  strategy: SchedulingStrategy;
  runtimeEnvHash: string;
  /** The env's canonical JSON, checked by the plugins ("" for the default env). */
  runtimeEnv: string;
  envVars: Record<string, string>;
  jobId: Buffer;
  ownerWorkerId: string;
  taskName: string;
  /**
   * Run again if its worker is killed for memory: a task with max_retries not 0 (its owner
   * retries it within its OOM budget, as Ray's), an actor with restarts (max_restarts not 0).
   * The memory monitor kills these first.
   */
  retriable: boolean;
  /** Another raylet sent the owner here (`grant_or_reject`): never spilled again. */
  forwarded: boolean;
  /** Leases of one class are granted in order; classes do not block each other. */
  classKey: string;
}

const DEFAULT_ACTOR_PLACEMENT = ResourceSet.from({ CPU: 1 });

function strategyOf(message: tray.v1.SchedulingStrategy.$Properties | null | undefined): SchedulingStrategy {
  if (message?.spread) return { kind: 'spread' };
  const affinity = message?.nodeAffinity;
  if (affinity) {
    const nodeId = checkId(affinity.nodeId, IdBytes.node, 'scheduling_strategy.node_affinity.node_id');
    return { kind: 'node_affinity', nodeId: nodeId.toString('hex'), soft: Boolean(affinity.soft) };
  }
  const pg = message?.placementGroup;
  if (pg) {
    const id = Buffer.from(pg.placementGroupId ?? new Uint8Array(0));
    if (id.length === 0 || id.length > 64)
      throw invalidArgument('scheduling_strategy.placement_group.placement_group_id must be 1 to 64 bytes');
    const index = pg.bundleIndex ?? -1;
    if (!Number.isInteger(index) || index < -1)
      throw invalidArgument(`placement group bundle_index must be ≥ -1, got ${index}`);
    return { kind: 'placement_group', placementGroupId: id.toString('hex'), bundleIndex: index };
  }
  return { kind: 'default' };
}

function envVarsOf(env: tray.v1.RuntimeEnv.$Properties | null | undefined): Record<string, string> {
  const vars = env?.envVars ?? {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw invalidArgument(
        `runtime_env.env_vars name ${JSON.stringify(name)} is not a valid environment variable name`,
      );
    if (INTERNAL_ENV_VARS.has(name))
      throw invalidArgument(`runtime_env.env_vars must not set ${name}: tray sets it in every worker`);
    out[name] = checkString(value, `runtime_env.env_vars.${name}`, 1 << 16);
  }
  return out;
}

/** The pool key of a runtime environment: "" for the default one. */
export function runtimeEnvHashOf(
  given: string,
  env: tray.v1.RuntimeEnv.$Properties | null | undefined,
  envVars: Record<string, string>,
): string {
  if (given) return checkString(given, 'runtime_env_hash', 128);
  const serialized = env?.serialized;
  const names = Object.keys(envVars).sort();
  if (!serialized && names.length === 0) return '';
  const canonical = serialized || JSON.stringify(names.map((n) => [n, envVars[n]]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** The env's serialized form, checked by the registry's plugins ("" when there is none). */
function serializedEnvOf(
  env: tray.v1.RuntimeEnv.$Properties | null | undefined,
  registry: PluginRegistry | undefined,
): string {
  const serialized = env?.serialized ?? '';
  if (serialized === '' || registry === undefined) return '';
  try {
    parseRuntimeEnv(serialized, registry);
  } catch (err) {
    throw invalidArgument(`task.runtime_env: ${(err as Error).message}`);
  }
  return serialized;
}

export function parseLeaseRequest(
  request: tray.v1.WorkerLeaseRequest,
  registry?: PluginRegistry,
): LeaseRequest {
  const task = request.task;
  if (!task)
    throw invalidArgument('RequestWorkerLease needs `task` (a representative task of the scheduling class)');
  checkId(task.taskId, IdBytes.task, 'task.task_id', true);
  const jobId = checkId(task.jobId, IdBytes.job, 'task.job_id', true);
  const owner = checkId(request.ownerAddress?.workerId, IdBytes.worker, 'owner_address.worker_id', true);
  const leaseId = checkLeaseId(request.leaseId, true);
  const required = toResourceSet(task.requiredResources, 'task.required_resources');
  const isActor = task.type === tray.v1.TaskType.ACTOR_CREATION_TASK;
  let schedule = required;
  let actorId: Buffer | undefined;
  if (isActor) {
    const creation = task.actorCreation;
    actorId = checkId(creation?.actorId, IdBytes.actor, 'task.actor_creation.actor_id', true);
    // Absent: Ray's default (1 CPU to schedule). Present, even empty: exactly that.
    const placement = creation?.placementResources
      ? toResourceSet(creation.placementResources, 'task.actor_creation.placement_resources')
      : DEFAULT_ACTOR_PLACEMENT;
    schedule = placement;
  }
  const strategy = strategyOf(task.schedulingStrategy);
  const asked = schedule.add(required.missingFrom(schedule));
  let hold = required;
  if (strategy.kind === 'placement_group') {
    schedule = intoBundle(schedule, strategy.placementGroupId, strategy.bundleIndex);
    hold = intoBundle(hold, strategy.placementGroupId, strategy.bundleIndex);
  }
  const envVars = envVarsOf(task.runtimeEnv);
  const runtimeEnv = serializedEnvOf(task.runtimeEnv, registry);
  const runtimeEnvHash =
    runtimeEnv !== ''
      ? hashOf(runtimeEnv)
      : runtimeEnvHashOf(request.runtimeEnvHash, task.runtimeEnv, envVars);
  const taskName = checkString(task.name || task.function?.name || '', 'task.name', 1024);
  return {
    leaseId: leaseId.length > 0 ? leaseId : randomBytes(IdBytes.lease),
    schedule,
    hold,
    asked,
    isActor,
    actorId: actorId && actorId.length > 0 ? actorId : undefined,
    strategy,
    runtimeEnvHash,
    runtimeEnv,
    envVars,
    jobId,
    ownerWorkerId: owner.toString('hex'),
    taskName,
    retriable: isActor
      ? (task.actorCreation?.maxRestarts ?? 0) !== 0
      : // As Ray's: maxRetries ≠ 0 is retried after an OOM kill (its own budget, owner-side).
        (task.maxRetries ?? 0) !== 0,
    forwarded: request.grantOrReject === true,
    classKey: `${isActor ? 'actor' : 'task'}|${schedule}|${hold}|${runtimeEnvHash}`,
  };
}

const hashOf = runtimeEnvHash;

function intoBundle(resources: ResourceSet, placementGroupId: string, bundleIndex: number): ResourceSet {
  try {
    return bundleResources(resources, placementGroupId, bundleIndex);
  } catch (err) {
    if (err instanceof InvalidResourceError)
      throw invalidArgument(
        `a resource name is too long to be renamed for a placement-group bundle: ${err.message}`,
      );
    throw err;
  }
}
