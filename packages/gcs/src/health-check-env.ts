// The node health checks' settings from the environment, as Ray reads RAY_health_check_period_ms,
// RAY_health_check_timeout_ms and RAY_health_check_failure_threshold: TRAY_HEALTH_CHECK_PERIOD_MS,
// TRAY_HEALTH_CHECK_TIMEOUT_MS and TRAY_HEALTH_CHECK_FAILURE_THRESHOLD override the GCS's options
// (defaults: Ray's 3 s, 10 s, 5). `tray start` passes its environment on to the GCS.
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
