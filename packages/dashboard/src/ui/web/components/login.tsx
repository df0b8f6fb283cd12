// The login prompt: shown instead of any page while the session has no valid cookie. It shows
// no cluster data (it has none: every data route answered 401).
import { useState } from 'preact/hooks';
import { login } from '../auth.js';

export function LoginPrompt({ message, onLoggedIn }: { message?: string; onLoggedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(message);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!token.trim()) {
      setError('Paste the cluster token first.');
      return;
    }
    setBusy(true);
    try {
      await login(token.trim());
      setToken('');
      onLoggedIn();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" data-testid="login">
      <h1>tray dashboard</h1>
      <p>
        This cluster needs its token: the <code>token</code> file in the head node’s session directory (
        <code>tray start --head</code> prints where it is). Paste it here, or open this page as{' '}
        <code>{`${location.origin}/#token=<token>`}</code>.
      </p>
      <form onSubmit={submit}>
        <label>
          Cluster token
          <input
            type="password"
            name="token"
            autocomplete="off"
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
      {error && (
        <p class="note error" role="alert">
          {error}
        </p>
      )}
    </main>
  );
}
