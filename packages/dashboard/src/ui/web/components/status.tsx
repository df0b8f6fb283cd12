// What a page shows while it waits, when a route is not there, and when a call failed; and the
// coloured pill for a state (ALIVE, RUNNING, FAILED...).
import type { ComponentChildren } from 'preact';
import { NotAvailable, Unauthorized } from '../api.js';

const GOOD = new Set(['ALIVE', 'RUNNING', 'SUCCEEDED', 'FINISHED', 'CREATED', 'HEALTHY']);
const BAD = new Set(['DEAD', 'FAILED', 'REMOVED', 'UNHEALTHY', 'DEPLOY_FAILED']);
const WAITING = new Set([
  'PENDING',
  'PENDING_CREATION',
  'RESTARTING',
  'RESCHEDULING',
  'DEPENDENCIES_UNREADY',
]);

export function StatePill({ state }: { state?: string | null }) {
  if (!state) return null;
  const kind = GOOD.has(state) ? 'good' : BAD.has(state) ? 'bad' : WAITING.has(state) ? 'waiting' : 'other';
  return <span class={`pill pill-${kind}`}>{state}</span>;
}

export function ErrorNote({ error }: { error: Error }) {
  if (error instanceof NotAvailable) {
    return (
      <p class="note not-available" data-testid="not-available">
        Not available: this dashboard server does not serve <code>{error.route.split('?')[0]}</code> (HTTP{' '}
        {error.status}).
      </p>
    );
  }
  if (error instanceof Unauthorized) return <p class="note error">Log in to see this page.</p>;
  return <p class="note error">{error.message}</p>;
}

/** Renders `children(data)` once there is data; the error (if any) above it; "Loading…" before. */
export function Loaded<T>({
  data,
  error,
  children,
}: {
  data?: T;
  error?: Error;
  children: (data: T) => ComponentChildren;
}) {
  if (data === undefined) return error ? <ErrorNote error={error} /> : <p class="note">Loading…</p>;
  return (
    <>
      {error && !(error instanceof NotAvailable) && <ErrorNote error={error} />}
      {children(data)}
    </>
  );
}
