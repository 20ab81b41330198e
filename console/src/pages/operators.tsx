// Operators: the named console accounts (GET/POST/PATCH/DELETE /api/operators): create one with a
// password, set a new password, disable or enable, delete. A password is sent once and never shown
// or read back; the hub keeps only its scrypt hash.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { OperatorView } from '../api.ts';
import { ago } from '../format.ts';

const path = (operator: OperatorView) => `/api/operators/${encodeURIComponent(operator.name)}`;

export function Operators() {
  const [operators, setOperators] = useState<OperatorView[] | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');

  const load = () =>
    api<{ operators: OperatorView[] }>('GET', '/api/operators').then(
      (answer) => setOperators(answer.operators),
      (failure: Error) => setError(failure.message),
    );
  useEffect(() => void load(), []);
  const act = async (work: () => Promise<unknown>, done?: string) => {
    setError('');
    setNotice('');
    try {
      await work();
      if (done) setNotice(done);
    } catch (failure) {
      setError((failure as Error).message);
    }
    await load();
  };

  const create = (event: Event) => {
    event.preventDefault();
    const created = name.trim();
    void act(async () => {
      await api('POST', '/api/operators', { name: created, password });
      setName('');
      setPassword('');
    }, `Operator ${created} can sign in now.`);
  };
  const newPassword = (operator: OperatorView) => {
    const given = prompt(`New password for ${operator.name} (at least 12 characters). Their sessions end.`);
    if (given) void act(() => api('PATCH', path(operator), { password: given }), `${operator.name} has a new password.`);
  };

  return (
    <section>
      <h1>Operators</h1>
      <form class="create-operator" onSubmit={create}>
        <label>
          Name <input name="operator-name" value={name} onInput={(event) => setName(event.currentTarget.value)} required maxLength={64} placeholder="alice" />
        </label>
        <label>
          Password <input type="password" name="operator-password" autocomplete="new-password" value={password} onInput={(event) => setPassword(event.currentTarget.value)} required minLength={12} />
        </label>
        <button type="submit">Create operator</button>
      </form>
      {notice && <p class="muted">{notice}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="operators">
        <thead>
          <tr>
            <th>name</th>
            <th>status</th>
            <th>created</th>
            <th>last sign-in</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {(operators ?? []).map((operator) => (
            <tr key={operator.name} data-operator={operator.name} data-status={operator.status}>
              <td>{operator.name}</td>
              <td>
                <span class={`state ${operator.status === 'active' ? 'online' : 'disabled'}`}>{operator.status}</span>
              </td>
              <td>{ago(operator.created_at)}</td>
              <td>{ago(operator.last_sign_in_at)}</td>
              <td class="actions">
                <button type="button" onClick={() => newPassword(operator)}>
                  New password
                </button>
                <button type="button" onClick={() => void act(() => api('PATCH', path(operator), { status: operator.status === 'active' ? 'disabled' : 'active' }))}>
                  {operator.status === 'active' ? 'Disable' : 'Enable'}
                </button>
                <button type="button" class="danger" onClick={() => confirm(`Delete ${operator.name}? Their sessions end.`) && void act(() => api('DELETE', path(operator)))}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {operators?.length === 0 && (
            <tr>
              <td colSpan={5} class="muted">
                No operator accounts yet: everyone signs in with the admin token.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
