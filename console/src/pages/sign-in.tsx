// Sign-in with an operator account (name and password; `tether operators add`) or with the hub's
// admin token (<data-dir>/admin-token); the hub answers with an HttpOnly session cookie and a CSRF
// token.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { ConsoleSessionView } from '../api.ts';

type Method = 'operator' | 'token';

export function SignIn(props: { reason?: string; onSignedIn(answer: ConsoleSessionView): void }) {
  const [method, setMethod] = useState<Method>('operator');
  const [operator, setOperator] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      const body = method === 'operator' ? { operator: operator.trim(), password } : { token: token.trim() };
      props.onSignedIn(await api<ConsoleSessionView>('POST', '/api/console/session', body));
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
      <fieldset class="sign-in-method">
        <label>
          <input type="radio" name="method" value="operator" checked={method === 'operator'} onChange={() => setMethod('operator')} /> Operator account
        </label>
        <label>
          <input type="radio" name="method" value="token" checked={method === 'token'} onChange={() => setMethod('token')} /> Admin token
        </label>
      </fieldset>
      {method === 'operator' ? (
        <>
          <label>
            Operator
            <input name="operator" autocomplete="username" value={operator} onInput={(event) => setOperator(event.currentTarget.value)} required />
          </label>
          <label>
            Password
            <input type="password" name="password" autocomplete="current-password" value={password} onInput={(event) => setPassword(event.currentTarget.value)} required />
          </label>
        </>
      ) : (
        <label>
          Admin token
          <input type="password" name="token" autocomplete="current-password" value={token} onInput={(event) => setToken(event.currentTarget.value)} required />
        </label>
      )}
      <button type="submit" disabled={busy}>
        Sign in
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p class="muted">
        {method === 'operator' ? (
          <>
            Accounts are made on the hub with <code>tether operators add &lt;name&gt;</code>.
          </>
        ) : (
          <>
            The token is in <code>&lt;data-dir&gt;/admin-token</code> on the hub.
          </>
        )}
      </p>
    </form>
  );
}
