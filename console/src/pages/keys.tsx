// Keys: create one (its secret is shown once, with the install line to copy), label it, change
// what it is granted, disable or enable it, regenerate it, delete it.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { KeyView } from '../api.ts';
import { DEFAULT_NEW_KEY_PERMISSIONS, PERMISSIONS } from '../command-forms.ts';
import { ago } from '../format.ts';
import { hostHref } from '../router.ts';
import { PermissionPicker } from '../parts/permission-picker.tsx';
import { NewKeySecret } from '../parts/new-key-secret.tsx';
import { LabelsInput, parseLabels } from '../parts/labels-input.tsx';

type Issued = KeyView & { key: string };

export function Keys() {
  const [keys, setKeys] = useState<KeyView[] | null>(null);
  const [error, setError] = useState('');
  const [name, setName] = useState('');
  const [permissions, setPermissions] = useState<string[]>(DEFAULT_NEW_KEY_PERMISSIONS);
  const [labels, setLabels] = useState('');
  const [issued, setIssued] = useState<Issued | null>(null);
  const [editing, setEditing] = useState<string | null>(null);

  const load = () =>
    api<{ keys: KeyView[] }>('GET', '/api/agents/keys').then(
      (answer) => setKeys(answer.keys),
      (failure: Error) => setError(failure.message),
    );
  useEffect(() => void load(), []);
  const act = async (work: () => Promise<unknown>) => {
    setError('');
    try {
      await work();
    } catch (failure) {
      setError((failure as Error).message);
    }
    await load();
  };

  const create = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      const parsed = parseLabels(labels);
      if (typeof parsed === 'string') throw new Error(`labels: ${parsed}`);
      setIssued(await api<Issued>('POST', '/api/agents/keys', { name: name.trim(), permissions, labels: parsed }));
      setLabels('');
      setName('');
    });
  };
  const path = (key: KeyView, suffix = '') => `/api/agents/keys/${encodeURIComponent(key.id)}${suffix}`;

  return (
    <section>
      <h1>Keys</h1>
      <form class="create-key" onSubmit={create}>
        <label>
          Name <input name="name" value={name} onInput={(event) => setName(event.currentTarget.value)} required maxLength={200} placeholder="web-01" />
        </label>
        <label>
          Labels <input name="labels" value={labels} onInput={(event) => setLabels(event.currentTarget.value)} placeholder="role=db env=prod" />
        </label>
        <PermissionPicker all={PERMISSIONS} chosen={permissions} onChange={setPermissions} />
        <button type="submit">Create key</button>
      </form>
      {issued && <NewKeySecret issued={issued} onDismiss={() => setIssued(null)} />}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="keys">
        <thead>
          <tr>
            <th>name</th>
            <th>id</th>
            <th>status</th>
            <th>labels</th>
            <th>permissions</th>
            <th>created</th>
            <th>last used</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {(keys ?? []).map((key) => (
            <tr key={key.id} data-key-id={key.id}>
              <td>
                <a href={hostHref(key.id)}>{key.name}</a>
              </td>
              <td>
                <code>{key.id}</code> <code class="muted">{key.key_prefix}…</code>
              </td>
              <td>
                <span class={`state ${key.status === 'active' ? 'online' : 'disabled'}`}>{key.status}</span>
              </td>
              <td>
                <LabelsInput value={key.labels} onChange={(next) => void act(() => api('PATCH', path(key), { labels: next }))} />
              </td>
              <td>
                {editing === key.id ? (
                  <PermissionPicker all={PERMISSIONS} chosen={key.permissions} onChange={(next) => void act(() => api('PATCH', path(key), { permissions: next }))} />
                ) : (
                  key.permissions.join(', ')
                )}
              </td>
              <td>{ago(key.created_at)}</td>
              <td>{ago(key.last_used_at)}</td>
              <td class="actions">
                <button type="button" onClick={() => setEditing(editing === key.id ? null : key.id)}>
                  {editing === key.id ? 'Done' : 'Permissions'}
                </button>
                <button type="button" onClick={() => void act(() => api('PATCH', path(key), { status: key.status === 'active' ? 'disabled' : 'active' }))}>
                  {key.status === 'active' ? 'Disable' : 'Enable'}
                </button>
                <button
                  type="button"
                  onClick={() =>
                    confirm(`Regenerate ${key.name}? Its agent stops working until it gets the new key.`) && void act(async () => setIssued(await api<Issued>('POST', path(key, '/regenerate'))))
                  }
                >
                  Regenerate
                </button>
                <button type="button" class="danger" onClick={() => confirm(`Delete ${key.name}? Its agent is disconnected for good.`) && void act(() => api('DELETE', path(key)))}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
