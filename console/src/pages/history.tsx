// History: every command the hub stored, newest first, filtered by host key, label, command,
// status and time, a page at a time; a row opens its data and result.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.ts';
import type { CommandView, KeyView } from '../api.ts';
import { CommandTable } from '../parts/command-table.tsx';

const STATUSES = ['queued', 'sent', 'completed', 'failed', 'expired'];
const PAGE = 50;

interface Filters {
  key_id: string;
  label: string;
  command: string;
  status: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { key_id: '', label: '', command: '', status: '', since: '', until: '' };

/** datetime-local (the browser's local time) → ISO UTC. */
const isoOf = (local: string) => (local ? new Date(local).toISOString() : '');

export function History() {
  const [keys, setKeys] = useState<KeyView[]>([]);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [pages, setPages] = useState<CommandView[][]>([]);
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
  const load = async (cursor: string | null, reset: boolean) => {
    setError('');
    try {
      const answer = await api<{ commands: CommandView[]; next_cursor: string | null }>(
        'GET',
        `/api/commands${query({ key_id: applied.key_id, label: applied.label.split(/\s+/).filter(Boolean), command: applied.command.trim(), status: applied.status, since: isoOf(applied.since), until: isoOf(applied.until), limit: String(PAGE), cursor: cursor ?? '' })}`,
      );
      setPages((before) => (reset ? [answer.commands] : [...before, answer.commands]));
      setNext(answer.next_cursor);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  useEffect(() => void load(null, true), [applied]);

  const set = (name: keyof Filters) => (event: Event) => setFilters({ ...filters, [name]: (event.currentTarget as HTMLInputElement).value });
  const keyName = (keyId: string) => keys.find((key) => key.id === keyId)?.name ?? keyId;
  return (
    <section>
      <h1>History</h1>
      <form
        class="toolbar filters"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(filters);
        }}
      >
        <select name="key_id" value={filters.key_id} onChange={set('key_id')} aria-label="host key">
          <option value="">all keys</option>
          {keys.map((key) => (
            <option key={key.id} value={key.id}>
              {key.name}
            </option>
          ))}
        </select>
        <input name="label" placeholder="label=value" value={filters.label} onInput={set('label')} aria-label="label" />
        <input name="command" placeholder="command" value={filters.command} onInput={set('command')} aria-label="command" />
        <select name="status" value={filters.status} onChange={set('status')} aria-label="status">
          <option value="">any status</option>
          {STATUSES.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
        <label>
          from <input type="datetime-local" name="since" value={filters.since} onInput={set('since')} />
        </label>
        <label>
          to <input type="datetime-local" name="until" value={filters.until} onInput={set('until')} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <CommandTable commands={pages.flat()} keyName={keyName} />
      {next && (
        <button type="button" data-test="more" onClick={() => void load(next, false)}>
          Older commands
        </button>
      )}
    </section>
  );
}
