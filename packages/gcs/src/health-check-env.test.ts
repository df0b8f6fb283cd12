import { describe, expect, it } from 'vitest';
import { healthCheckFromEnv } from './health-check-env.js';

describe('health checks from the environment', () => {
  it('overrides the options field by field and leaves the rest', () => {
    expect(
      healthCheckFromEnv(
        { TRAY_HEALTH_CHECK_PERIOD_MS: '200', TRAY_HEALTH_CHECK_FAILURE_THRESHOLD: '3' },
        {
          timeoutMs: 500,
        },
      ),
    ).toEqual({ periodMs: 200, timeoutMs: 500, failureThreshold: 3 });
    expect(healthCheckFromEnv({}, undefined)).toBeUndefined();
  });

  it('refuses a value that is not a whole number ≥ 1, naming the variable', () => {
    expect(() => healthCheckFromEnv({ TRAY_HEALTH_CHECK_TIMEOUT_MS: '0.5s' }, undefined)).toThrow(
      /TRAY_HEALTH_CHECK_TIMEOUT_MS must be a whole number ≥ 1, got '0.5s'/,
    );
  });
});
