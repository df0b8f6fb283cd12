// What POST /api/jobs/ accepts: Ray's fields with their defaults, the ids it allows, and the
// runtime_env keys it maps to tray's plugins; everything else is a 400 naming the field.
import { describe, expect, it } from 'vitest';
import { HttpError } from '../server/http-error.js';
import { checkSubmissionId, parseSubmission, toTrayRuntimeEnv } from './job-info.js';

function refusal(f: () => unknown): { status: number; message: string } {
  try {
    f();
  } catch (err) {
    if (err instanceof HttpError) return { status: err.status, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('parseSubmission', () => {
  it("fills Ray's defaults and generates a submission id", () => {
    const s = parseSubmission({ entrypoint: 'echo hi' });
    expect(s).toMatchObject({
      entrypoint: 'echo hi',
      runtime_env: null,
      metadata: null,
      entrypoint_num_cpus: 0,
      entrypoint_num_gpus: 0,
      entrypoint_memory: 0,
      entrypoint_resources: {},
    });
    expect(s.submission_id).toMatch(/^traysubmit_[A-Za-z0-9]{16}$/);
    expect(parseSubmission({ entrypoint: 'x' }).submission_id).not.toBe(s.submission_id);
    // Ray's deprecated job_id names the submission when submission_id is absent.
    expect(parseSubmission({ entrypoint: 'x', job_id: 'legacy-1' }).submission_id).toBe('legacy-1');
  });

  it('refuses bad fields with 400s that name them', () => {
    expect(refusal(() => parseSubmission([]))).toMatchObject({ status: 400, message: /JSON object/ });
    expect(refusal(() => parseSubmission({ entrypoint: '  ' })).message).toMatch(
      /entrypoint must be a non-empty/,
    );
    expect(refusal(() => parseSubmission({ entrypoint: 'x', entrypoint_num_gpus: 'two' })).message).toMatch(
      /entrypoint_num_gpus must be a non-negative number, got "two"/,
    );
    expect(refusal(() => parseSubmission({ entrypoint: 'x', metadata: { a: 1 } })).message).toMatch(
      /metadata.a must be a string/,
    );
    expect(
      refusal(() => parseSubmission({ entrypoint: 'x', entrypoint_resources: { CPU: 1 } })).message,
    ).toMatch(/use entrypoint_num_cpus/);
    expect(refusal(() => parseSubmission({ entrypoint: 'x'.repeat(70_000) })).message).toMatch(
      /over the limit/,
    );
  });
});

describe('submission ids', () => {
  it('allow letters, digits and _ . - up to 128, starting with a letter or digit', () => {
    expect(checkSubmissionId('raysubmit_AbC.1-2')).toBe('raysubmit_AbC.1-2');
    for (const bad of ['', '-x', '../etc', 'a/b', 'a b', 'x'.repeat(129), 7]) {
      expect(refusal(() => checkSubmissionId(bad)).status).toBe(400);
    }
  });
});

describe('toTrayRuntimeEnv', () => {
  it("maps Ray's snake_case keys to tray's plugins and refuses Python's and local paths", () => {
    const uri = `tray-pkg://${'a'.repeat(40)}`;
    expect(toTrayRuntimeEnv({ working_dir: uri, env_vars: { A: '1' }, node_version: '22' })).toEqual({
      workingDir: uri,
      envVars: { A: '1' },
      nodeVersion: '22',
    });
    expect(toTrayRuntimeEnv(null)).toBeUndefined();
    expect(refusal(() => toTrayRuntimeEnv({ conda: 'env' })).message).toMatch(
      /runtime_env.conda is Python's/,
    );
    expect(refusal(() => toTrayRuntimeEnv({ colour: 1 })).message).toMatch(/unknown field "colour"/);
    expect(refusal(() => toTrayRuntimeEnv({ working_dir: './app' })).message).toMatch(
      /a package the client uploaded/,
    );
  });
});
