// The dashboard's page: exchanges a #token= fragment for the session cookie, then shows either
// the login prompt (no valid cookie: no data is fetched or shown) or the navigation and the page
// the hash route names.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized } from './api.js';
import { isLoggedIn, loginFromFragment, logout, tokenFromFragment } from './auth.js';
import { LoginPrompt } from './components/login.js';
import { useRoute } from './hooks.js';
import { Actors } from './pages/actors.js';
import { Charts } from './pages/charts.js';
import { JobDetail } from './pages/job-detail.js';
import { Jobs } from './pages/jobs.js';
import { Logs } from './pages/logs.js';
import { Overview } from './pages/overview.js';
import { PlacementGroups } from './pages/placement-groups.js';
import { Serve } from './pages/serve.js';
import { Tasks } from './pages/tasks.js';

const NAV: Array<[route: string, label: string]> = [
  ['', 'Overview'],
  ['jobs', 'Jobs'],
  ['actors', 'Actors'],
  ['tasks', 'Tasks'],
  ['placement-groups', 'Placement groups'],
  ['serve', 'Serve'],
  ['logs', 'Logs'],
  ['charts', 'Charts'],
];

function Page({ route }: { route: string[] }) {
  const [top, id] = route;
  switch (top ?? '') {
    case '':
      return <Overview />;
    case 'jobs':
      return id ? <JobDetail id={id} /> : <Jobs />;
    case 'actors':
      return <Actors />;
    case 'tasks':
      return <Tasks view={id} />;
    case 'placement-groups':
      return <PlacementGroups />;
    case 'serve':
      return <Serve />;
    case 'logs':
      return <Logs />;
    case 'charts':
      return <Charts />;
    default:
      return <p class="note error">No page “{route.join('/')}”. Pick one above.</p>;
  }
}

function Dashboard({ onLogout }: { onLogout: () => void }) {
  const route = useRoute();
  return (
    <>
      <header>
        <strong>tray</strong>
        <nav>
          {NAV.map(([path, label]) => (
            <a key={path} href={`#/${path}`} class={(route[0] ?? '') === path ? 'active' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <button type="button" class="link" onClick={() => logout().then(onLogout)}>
          Log out
        </button>
      </header>
      <main data-testid="page">
        <Page route={route} />
      </main>
    </>
  );
}

type Session = { kind: 'checking' } | { kind: 'login'; message?: string } | { kind: 'in' };

function App() {
  const [session, setSession] = useState<Session>({ kind: 'checking' });
  useEffect(() => {
    const check = async () => {
      const failed = await loginFromFragment();
      if (failed) return setSession({ kind: 'login', message: failed });
      setSession((await isLoggedIn()) ? { kind: 'in' } : { kind: 'login' });
    };
    const unreachable = (err: Error) =>
      setSession({ kind: 'login', message: `the dashboard is unreachable: ${err.message}` });
    check().catch(unreachable);
    // A #token= link opened in a tab that already shows the dashboard only changes the fragment.
    const onHash = () => {
      if (tokenFromFragment(location.hash).token !== undefined) check().catch(unreachable);
    };
    addEventListener('hashchange', onHash);
    const unsubscribe = onUnauthorized(() =>
      setSession({ kind: 'login', message: 'The session ended: log in again.' }),
    );
    return () => {
      removeEventListener('hashchange', onHash);
      unsubscribe();
    };
  }, []);
  if (session.kind === 'checking') return <p class="note">Connecting…</p>;
  if (session.kind === 'login') {
    return <LoginPrompt message={session.message} onLoggedIn={() => setSession({ kind: 'in' })} />;
  }
  return <Dashboard onLogout={() => setSession({ kind: 'login' })} />;
}

render(<App />, document.getElementById('app')!);
