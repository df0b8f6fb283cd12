// The jobs list and the submit form (Ray's POST /api/jobs/ body). A submitted job opens its
// detail page, where its log streams in.
import { useState } from 'preact/hooks';
import { formatTime } from '../components/format.js';
import { Loaded, StatePill } from '../components/status.js';
import { Table } from '../components/table.js';
import { usePoll } from '../hooks.js';
import { type JobDetails, jobKey, listJobs, type SubmitRequest, submitJob } from '../jobs.js';

function parseObject(label: string, text: string): Record<string, any> | undefined {
  if (!text.trim()) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${label} is not valid JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${label} must be a JSON object, like {"env_vars": {"A": "1"}}`);
  }
  return value as Record<string, any>;
}

/** The form's fields as Ray's submit body; throws a message naming the field that is wrong. */
export function submitRequest(fields: Record<string, string>): SubmitRequest {
  const entrypoint = fields.entrypoint.trim();
  if (!entrypoint) throw new Error('Entrypoint is empty: give the shell command to run, e.g. node main.mjs');
  const req: SubmitRequest = { entrypoint };
  if (fields.submissionId.trim()) req.submission_id = fields.submissionId.trim();
  const runtimeEnv = parseObject('Runtime env', fields.runtimeEnv);
  if (runtimeEnv) req.runtime_env = runtimeEnv;
  const metadata = parseObject('Metadata', fields.metadata);
  if (metadata) req.metadata = metadata;
  if (fields.numCpus.trim()) {
    const n = Number(fields.numCpus);
    if (!Number.isFinite(n) || n < 0) throw new Error(`CPUs must be a number ≥ 0, got "${fields.numCpus}"`);
    req.entrypoint_num_cpus = n;
  }
  return req;
}

const EMPTY = { entrypoint: '', submissionId: '', runtimeEnv: '', metadata: '', numCpus: '' };

function SubmitForm({ onSubmitted }: { onSubmitted: (id: string) => void }) {
  const [fields, setFields] = useState(EMPTY);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const field = (name: keyof typeof EMPTY) => ({
    name,
    value: fields[name],
    onInput: (e: Event) => setFields({ ...fields, [name]: (e.target as HTMLInputElement).value }),
  });
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const { submission_id } = await submitJob(submitRequest(fields));
      setFields(EMPTY);
      onSubmitted(submission_id);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="submit" onSubmit={submit} data-testid="submit-form">
      <h3>Submit a job</h3>
      <label>
        Entrypoint (shell command)
        <input {...field('entrypoint')} placeholder="node main.mjs" required />
      </label>
      <label>
        Submission id (optional)
        <input {...field('submissionId')} />
      </label>
      <label>
        Runtime env (JSON, optional)
        <textarea {...field('runtimeEnv')} placeholder='{"env_vars": {"MODE": "x"}}' rows={2} />
      </label>
      <label>
        Metadata (JSON, optional)
        <textarea {...field('metadata')} rows={1} />
      </label>
      <label>
        Entrypoint CPUs (optional)
        <input {...field('numCpus')} inputMode="decimal" />
      </label>
      <button type="submit" disabled={busy}>
        Submit
      </button>
      {error && (
        <p class="note error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

export function Jobs() {
  const jobs = usePoll(listJobs, 2000);
  return (
    <section>
      <h2>Jobs</h2>
      <Loaded data={jobs.data} error={jobs.error}>
        {(list) => (
          <Table<JobDetails>
            testId="jobs"
            rows={[...list].sort((a, b) => (b.start_time ?? 0) - (a.start_time ?? 0))}
            rowKey={(j, i) => jobKey(j) || String(i)}
            empty="No jobs yet."
            columns={[
              {
                label: 'Submission',
                render: (j) => <a href={`#/jobs/${encodeURIComponent(jobKey(j))}`}>{jobKey(j)}</a>,
              },
              { label: 'Job', render: (j) => j.job_id },
              { label: 'Status', render: (j) => <StatePill state={j.status} /> },
              { label: 'Entrypoint', render: (j) => <code>{j.entrypoint}</code> },
              { label: 'Started', render: (j) => formatTime(j.start_time) },
              { label: 'Ended', render: (j) => formatTime(j.end_time) },
              { label: 'Message', render: (j) => j.message },
            ]}
          />
        )}
      </Loaded>
      <SubmitForm
        onSubmitted={(id) => {
          location.hash = `#/jobs/${encodeURIComponent(id)}`;
        }}
      />
    </section>
  );
}
