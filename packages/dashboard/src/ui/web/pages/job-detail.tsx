// One job: its details (polled) and its log, streamed live over the WebSocket tail. When the
// server has no tail route, or the stream breaks, the page falls back to polling GET .../logs.
// The page keeps at most the last LOG_LIMIT characters, so a chatty job cannot fill the tab.
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatTime } from '../components/format.js';
import { ErrorNote, Loaded, StatePill } from '../components/status.js';
import { usePoll } from '../hooks.js';
import { getJob, jobLogs, stopJob, TERMINAL_STATUSES, tailJobLogs } from '../jobs.js';

export const LOG_LIMIT = 1_000_000;

function keepTail(text: string): string {
  return text.length > LOG_LIMIT ? text.slice(text.length - LOG_LIMIT) : text;
}

function LiveLog({ id, finished }: { id: string; finished: boolean }) {
  const [log, setLog] = useState('');
  const [mode, setMode] = useState<'live' | 'ended' | 'polling'>('live');
  const [error, setError] = useState<Error>();
  const pre = useRef<HTMLPreElement>(null);

  useEffect(() => {
    setLog('');
    setMode('live');
    return tailJobLogs(
      id,
      (chunk) => setLog((old) => keepTail(old + chunk)),
      (end) => setMode(end.clean ? 'ended' : 'polling'),
    );
  }, [id]);

  // Without the stream, read the whole log now and then until the job is done.
  useEffect(() => {
    if (mode !== 'polling') return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const text = await jobLogs(id);
        if (!stopped) setLog(keepTail(text));
        setError(undefined);
      } catch (err) {
        if (!stopped) setError(err as Error);
      }
      if (!stopped && !finished) timer = setTimeout(poll, 2000);
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [mode, id, finished]);

  useEffect(() => {
    const el = pre.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [log]);

  return (
    <>
      <h3>
        Logs{' '}
        <span class="note">
          {mode === 'live' ? '(live)' : mode === 'ended' ? '(stream ended)' : '(polled)'}
        </span>
      </h3>
      {error && <ErrorNote error={error} />}
      <pre class="log" ref={pre} data-testid="job-log">
        {log}
      </pre>
    </>
  );
}

export function JobDetail({ id }: { id: string }) {
  const job = usePoll(() => getJob(id), 2000, [id]);
  const [stopError, setStopError] = useState<string>();
  const finished = TERMINAL_STATUSES.has(String(job.data?.status));
  return (
    <section>
      <h2>
        Job <code>{id}</code>
      </h2>
      <p>
        <a href="#/jobs">← all jobs</a>
      </p>
      <Loaded data={job.data} error={job.error}>
        {(j) => (
          <>
            <dl class="details" data-testid="job-details">
              <dt>Status</dt>
              <dd data-testid="job-status">
                <StatePill state={j.status} />
              </dd>
              <dt>Entrypoint</dt>
              <dd>
                <code>{j.entrypoint}</code>
              </dd>
              <dt>Job id</dt>
              <dd>{j.job_id}</dd>
              <dt>Message</dt>
              <dd>{j.message}</dd>
              <dt>Started</dt>
              <dd>{formatTime(j.start_time)}</dd>
              <dt>Ended</dt>
              <dd>{formatTime(j.end_time)}</dd>
              {j.driver_exit_code != null && (
                <>
                  <dt>Exit code</dt>
                  <dd>{j.driver_exit_code}</dd>
                </>
              )}
            </dl>
            {!finished && (
              <button
                type="button"
                data-testid="stop-job"
                onClick={() =>
                  stopJob(id).then(
                    () => job.reload(),
                    (err) => setStopError((err as Error).message),
                  )
                }
              >
                Stop job
              </button>
            )}
            {stopError && <p class="note error">{stopError}</p>}
          </>
        )}
      </Loaded>
      <LiveLog id={id} finished={finished} />
    </section>
  );
}
