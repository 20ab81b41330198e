// Fleet: every host with its state (online, stale, offline), last heartbeat, version, transport,
// labels, the heartbeat's CPU / memory / disk, running jobs and outbox backlog, live; search by
// text or label, filter by state.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { KeyView } from '../api.ts';
import { fleetRows, matchesSearch } from '../fleet-rows.ts';
import type { HostState } from '../fleet-rows.ts';
import { useHosts } from '../live.ts';
import { ago, metric, percent } from '../format.ts';
import { hostHref } from '../router.ts';
import { useNow } from '../parts/use-now.ts';

const KEY_REFRESH_MS = 15_000;

export function Fleet() {
  const { hosts, agents } = useHosts();
  const [keys, setKeys] = useState<KeyView[] | null>(null);
  const [error, setError] = useState('');
  const [search, setSearch] = useState('');
  const [state, setState] = useState<HostState | 'all'>('all');
  const now = useNow();

  const loadKeys = () =>
    api<{ keys: KeyView[] }>('GET', '/api/agents/keys').then(
      (answer) => setKeys(answer.keys),
      (failure: Error) => setError(failure.message),
    );
  useEffect(() => {
    void loadKeys();
    const timer = setInterval(loadKeys, KEY_REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  // A key created elsewhere whose agent just connected: fetch the keys again to name it.
  useEffect(() => {
    if (keys && hosts?.some((host) => !keys.some((key) => key.id === host.key_id))) void loadKeys();
  }, [hosts, keys]);

  const rows = fleetRows(keys ?? [], hosts ?? []).filter((row) => (state === 'all' || row.state === state) && matchesSearch(row, search));
  const online = (hosts ?? []).filter((host) => host.state === 'online').length;

  return (
    <section>
      <h1>Fleet</h1>
      <div class="toolbar">
        <input type="search" placeholder="Search host, key, version, label=value" value={search} onInput={(event) => setSearch(event.currentTarget.value)} aria-label="search" />
        <select value={state} onChange={(event) => setState(event.currentTarget.value as HostState | 'all')} aria-label="state">
          <option value="all">all states</option>
          <option value="online">online</option>
          <option value="stale">stale</option>
          <option value="offline">offline</option>
        </select>
        <span class="muted">{agents === null || hosts === null ? 'connecting…' : `${online} online · ${(hosts ?? []).length} hosts · ${(keys ?? []).length} keys · live`}</span>
      </div>
      {error && <p class="error">{error}</p>}
      <table class="fleet">
        <thead>
          <tr>
            <th>state</th>
            <th>host</th>
            <th>key</th>
            <th>labels</th>
            <th>version</th>
            <th>transport</th>
            <th>last heartbeat</th>
            <th>CPU</th>
            <th>memory</th>
            <th>disk</th>
            <th>jobs</th>
            <th>outbox</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.keyId}/${row.agentId}`} data-key-id={row.keyId} data-state={row.state}>
              <td>
                <span class={`state ${row.state}`}>{row.state}</span>
                {row.keyStatus === 'disabled' && <span class="state disabled">key disabled</span>}
              </td>
              <td>
                <a href={hostHref(row.keyId)} class="hostname">
                  {row.hostname || '(not seen yet)'}
                </a>
              </td>
              <td>
                {row.keyName} <code class="muted">{row.keyId}</code>
              </td>
              <td>
                {Object.entries(row.labels).map(([name, value]) => (
                  <span class="label" key={name}>
                    {name}={value}
                  </span>
                ))}
              </td>
              <td>{row.version || '–'}</td>
              <td title={row.hubId && row.hubId !== 'local' ? `on hub ${row.hubId}` : undefined} data-hub-id={row.hubId ?? ''}>
                {row.transport || '–'}
              </td>
              <td title={row.lastSeen ?? ''}>{ago(row.lastSeen, now)}</td>
              <td>{percent(metric(row.metrics, 'cpu_percent'))}</td>
              <td>{percent(metric(row.metrics, 'memory_percent'))}</td>
              <td>{percent(metric(row.metrics, 'disk_percent'))}</td>
              <td>{row.jobsRunning ?? '–'}</td>
              <td>{row.outboxPending ?? '–'}</td>
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={12} class="muted">
                {keys === null ? 'Loading…' : 'No hosts match. Create a key on the Keys page and install an agent with it.'}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
