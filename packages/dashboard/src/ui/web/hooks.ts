// The two hooks every page uses: the hash route (#/jobs/<id>: the fragment never reaches the
// server, so page state stays out of its logs) and polling an endpoint while the page shows it.
import { useEffect, useRef, useState } from 'preact/hooks';

/** The route's path segments: '#/jobs/raysubmit_1' → ['jobs', 'raysubmit_1']; '' → []. */
export function parseRoute(hash: string): string[] {
  return hash
    .replace(/^#\/?/, '')
    .split('?')[0]
    .split('/')
    .filter(Boolean)
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
}

export function useRoute(): string[] {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export interface Polled<T> {
  data?: T;
  error?: Error;
  /** Loads again now (after a form submitted something, say). */
  reload: () => void;
}

/**
 * Calls `load` now and then `intervalMs` after each answer, while the component is mounted and
 * `deps` unchanged; keeps the last good data beside the last error.
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, deps: unknown[] = []): Polled<T> {
  const [state, setState] = useState<{ data?: T; error?: Error }>({});
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({});
    const run = async () => {
      try {
        const data = await loadRef.current();
        if (!stopped) setState({ data });
      } catch (error) {
        if (!stopped) setState((old) => ({ data: old.data, error: error as Error }));
      }
      if (!stopped) timer = setTimeout(run, intervalMs);
    };
    run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, generation, intervalMs]);
  return { ...state, reload: () => setGeneration((g) => g + 1) };
}
