// Audit: every admin action (keys, commands, cancels, artifact downloads and deletes, sign-ins),
// newest first: who (admin token or console), from where, to which key or command, and the outcome.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.ts';
import type { AuditEntry, KeyView } from '../api.ts';
import { ago } from '../format.ts';

const PAGE = 100;

export function Audit() {
  const [keys, setKeys] = useState<KeyView[]>([]);
  const [keyId, setKeyId] = useState('');
  const [action, setAction] = useState('');
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  useEffect(
    () =>
      void api<{ keys: KeyView[] }>('GET', '/api/agents/keys').then(
        (answer) => setKeys(answer.keys),
        () => undefined,
      ),
    [],
  );
  const load = async (cursor: string | null) => {
    try {
      const answer = await api<{ entries: AuditEntry[]; next_cursor: string | null }>('GET', `/api/audit${query({ key_id: keyId, action: action.trim(), limit: String(PAGE), cursor: cursor ?? '' })}`);
      setEntries((before) => (cursor ? [...before, ...answer.entries] : answer.entries));
      setNext(answer.next_cursor);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  useEffect(() => void load(null), [keyId, action]);
  const keyName = (id: string | null) => (id === null ? '' : (keys.find((key) => key.id === id)?.name ?? id));
  return (
    <section>
      <h1>Audit log</h1>
      <div class="toolbar">
        <select value={keyId} onChange={(event) => setKeyId(event.currentTarget.value)} aria-label="host key">
          <option value="">all keys</option>
          {keys.map((key) => (
            <option key={key.id} value={key.id}>
              {key.name}
            </option>
          ))}
        </select>
        <input placeholder="action, e.g. command.send" value={action} onChange={(event) => setAction(event.currentTarget.value)} aria-label="action" />
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="audit">
        <thead>
          <tr>
            <th>when</th>
            <th>who</th>
            <th>action</th>
            <th>key</th>
            <th>command</th>
            <th>outcome</th>
            <th>detail</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.id} data-action={entry.action} data-outcome={entry.outcome} data-actor={entry.actor}>
              <td title={entry.at}>{ago(entry.at)}</td>
              <td>
                {entry.actor} <span class="muted">{String(entry.detail.ip ?? '')}</span>
              </td>
              <td>{entry.action}</td>
              <td>{keyName(entry.key_id)}</td>
              <td>
                <code class="muted">{entry.command_id?.slice(0, 8) ?? ''}</code>
              </td>
              <td>{entry.outcome}</td>
              <td>
                <code class="detail">{JSON.stringify(Object.fromEntries(Object.entries(entry.detail).filter(([name]) => name !== 'ip' && name !== 'status')))}</code>
              </td>
            </tr>
          ))}
          {entries.length === 0 && (
            <tr>
              <td colSpan={7} class="muted">
                Nothing recorded yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Older entries
        </button>
      )}
    </section>
  );
}
