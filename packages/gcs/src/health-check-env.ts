// The node health checks' settings from the environment, as Ray reads RAY_health_check_period_ms,
// RAY_health_check_timeout_ms and RAY_health_check_failure_threshold: TRAY_HEALTH_CHECK_PERIOD_MS,
// TRAY_HEALTH_CHECK_TIMEOUT_MS and TRAY_HEALTH_CHECK_FAILURE_THRESHOLD override the GCS's options
// (defaults: Ray's 3 s, 10 s, 5). `tray start` passes its environment on to the GCS. The worker
// table's limit is read the same way.
import type { HealthCheckOptions } from './managers/node-health-checker.js';

const VARIABLES: Array<[keyof HealthCheckOptions, string]> = [
  ['periodMs', 'TRAY_HEALTH_CHECK_PERIOD_MS'],
  ['timeoutMs', 'TRAY_HEALTH_CHECK_TIMEOUT_MS'],
  ['failureThreshold', 'TRAY_HEALTH_CHECK_FAILURE_THRESHOLD'],
];

export function healthCheckFromEnv(
  env: NodeJS.ProcessEnv,
  options: Partial<HealthCheckOptions> | undefined,
): Partial<HealthCheckOptions> | undefined {
  let merged = options;
  for (const [field, name] of VARIABLES) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`${name} must be a whole number ≥ 1, got '${raw}'`);
    }
    merged = { ...merged, [field]: value };
  }
  return merged;
}

/** TRAY_MAXIMUM_GCS_DEAD_WORKER_CACHED_COUNT (Ray's RAY_maximum_gcs_dead_worker_cached_count). */
export function maxDeadWorkersFromEnv(
  env: NodeJS.ProcessEnv,
  option: number | undefined,
): number | undefined {
  return wholeNumberFromEnv(env, 'TRAY_MAXIMUM_GCS_DEAD_WORKER_CACHED_COUNT', option);
}

/** TRAY_TASK_EVENTS_MAX_NUM_TASK_IN_GCS (Ray's RAY_task_events_max_num_task_in_gcs). */
export function maxTaskEventsFromEnv(env: NodeJS.ProcessEnv, option: number | undefined): number | undefined {
  return wholeNumberFromEnv(env, 'TRAY_TASK_EVENTS_MAX_NUM_TASK_IN_GCS', option);
}

function wholeNumberFromEnv(
  env: NodeJS.ProcessEnv,
  name: string,
  option: number | undefined,
): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return option;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a whole number ≥ 1, got '${raw}'`);
  return value;
}
