// Sign-in with the hub's admin token (<data-dir>/admin-token); the hub answers with an HttpOnly
// session cookie and a CSRF token.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { SessionAnswer } from '../api.ts';

export function SignIn(props: { reason?: string; onSignedIn(answer: SessionAnswer): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      props.onSignedIn(await api<SessionAnswer>('POST', '/api/console/session', { token: token.trim() }));
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="sign-in" onSubmit={submit}>
      <h1>tether console</h1>
      {props.reason && <p class="muted">{props.reason}</p>}
      <label>
        Admin token
        <input type="password" name="token" autocomplete="current-password" value={token} onInput={(event) => setToken(event.currentTarget.value)} required />
      </label>
      <button type="submit" disabled={busy}>
        Sign in
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p class="muted">
        The token is in <code>&lt;data-dir&gt;/admin-token</code> on the hub.
      </p>
    </form>
  );
}
