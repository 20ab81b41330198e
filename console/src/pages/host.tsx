// Host: one key's agent: what the hub knows of it, a ping, a form for each command its grant
// allows with the job's live output and its result, and its backups stored on the hub.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.ts';
import type { CommandView, HeartbeatPoint, KeyView, StoredArtifact } from '../api.ts';
import { Sparkline } from '../parts/sparkline.tsx';
import { CommandTable } from '../parts/command-table.tsx';
import { ArtifactTable } from '../parts/artifact-table.tsx';
import { useHosts } from '../live.ts';
import { ago, metric, percent } from '../format.ts';
import { COMMAND_FIELDS, commandsAllowedBy } from '../command-forms.ts';
import { CommandForm } from '../parts/command-form.tsx';
import { JobOutput } from '../parts/job-output.tsx';
import { useNow } from '../parts/use-now.ts';

interface PingAnswer {
  ok: boolean;
  rtt_ms?: number;
  error?: string;
  result?: unknown;
}

export function Host(props: { keyId: string }) {
  const [key, setKey] = useState<KeyView | null>(null);
  const [error, setError] = useState('');
  const [ping, setPing] = useState<PingAnswer | string | null>(null);
  const [commandId, setCommandId] = useState<string | null>(null);
  const [artifacts, setArtifacts] = useState<StoredArtifact[]>([]);
  const { hosts, agents } = useHosts();
  const now = useNow();
  const sessions = (agents ?? []).filter((agent) => agent.key_id === props.keyId);
  const hostsOfKey = (hosts ?? []).filter((host) => host.key_id === props.keyId);
  const [points, setPoints] = useState<HeartbeatPoint[]>([]);
  const [recent, setRecent] = useState<CommandView[]>([]);
  const chartedAgent = sessions[0]?.agent_id ?? hostsOfKey[0]?.agent_id;
  useEffect(() => {
    if (!chartedAgent) return;
    api<{ points: HeartbeatPoint[] }>('GET', `/api/hosts/${encodeURIComponent(chartedAgent)}/heartbeats?hours=24`).then(
      (answer) => setPoints(answer.points),
      () => undefined,
    );
  }, [chartedAgent, hosts]);
  const loadRecent = () =>
    api<{ commands: CommandView[] }>('GET', `/api/commands${query({ key_id: props.keyId, limit: '20' })}`).then(
      (answer) => setRecent(answer.commands),
      () => undefined,
    );
  useEffect(() => void loadRecent(), [props.keyId]);

  const loadArtifacts = () =>
    api<{ artifacts: StoredArtifact[] }>('GET', `/api/artifacts?key_id=${encodeURIComponent(props.keyId)}`).then(
      (answer) => setArtifacts(answer.artifacts),
      () => setArtifacts([]),
    );
  useEffect(() => {
    api<KeyView>('GET', `/api/agents/keys/${encodeURIComponent(props.keyId)}`).then(setKey, (failure: Error) => setError(failure.message));
    void loadArtifacts();
  }, [props.keyId]);
  const removeArtifact = async (artifact: StoredArtifact) => {
    if (!confirm(`Delete ${artifact.id} from the hub? This cannot be undone.`)) return;
    await api('DELETE', `/api/artifacts/${encodeURIComponent(artifact.key_id)}/${encodeURIComponent(artifact.id)}`).catch((failure: Error) => setError(failure.message));
    await loadArtifacts();
  };

  const runPing = async () => {
    setPing('waiting for pong…');
    try {
      setPing(await api<PingAnswer>('POST', `/api/agents/keys/${encodeURIComponent(props.keyId)}/ping`, {}));
    } catch (failure) {
      setPing((failure as Error).message);
    }
  };
  const send = async (command: string, data: Record<string, unknown>) => {
    const queued = await api<CommandView>('POST', `/api/agents/keys/${encodeURIComponent(props.keyId)}/command`, { command, data });
    setCommandId(queued.command_id);
  };

  if (error) return <p class="error">{error}</p>;
  if (!key) return <p class="muted">Loading…</p>;
  const allowed = commandsAllowedBy(key.permissions);
  return (
    <section>
      <h1>
        <span class="hostname">{sessions[0]?.hostname || hostsOfKey[0]?.hostname || key.name}</span>{' '}
        {sessions.length > 0 ? (
          <span class={`state ${hostsOfKey[0]?.state === 'stale' ? 'stale' : 'online'}`}>{hostsOfKey[0]?.state === 'stale' ? 'stale' : 'online'}</span>
        ) : (
          <span class="state offline">offline</span>
        )}
      </h1>
      <dl class="facts">
        <dt>key</dt>
        <dd>
          {key.name} <code>{key.id}</code> ({key.status}, prefix <code>{key.key_prefix}</code>)
        </dd>
        <dt>granted</dt>
        <dd>{key.permissions.join(', ') || 'everything the agent allows'}</dd>
        <dt>key last used</dt>
        <dd>{ago(key.last_used_at, now)}</dd>
        {sessions.map((session) => (
          <>
            <dt>agent</dt>
            <dd>
              <code>{session.agent_id}</code> · {session.version} · {session.transport}
              {session.protocol ? ` · protocol ${session.protocol}` : ' · micro-hack'}
            </dd>
            <dt>connected</dt>
            <dd>
              since {session.connected_since}, last heartbeat {ago(session.last_heartbeat, now)}
            </dd>
            <dt>load</dt>
            <dd>
              CPU {percent(metric(session.metrics, 'cpu_percent'))} · memory {percent(metric(session.metrics, 'memory_percent'))} · disk {percent(metric(session.metrics, 'disk_percent'))}
            </dd>
          </>
        ))}
      </dl>

      <h2>Last 24 hours</h2>
      <div class="charts">
        <Sparkline label="CPU" points={points} value={(point) => point.cpu_percent} />
        <Sparkline label="memory" points={points} value={(point) => point.memory_percent} />
        <Sparkline label="disk" points={points} value={(point) => point.disk_percent} />
      </div>

      <h2>Ping</h2>
      <button type="button" onClick={runPing} disabled={sessions.length === 0} data-test="ping">
        Ping
      </button>
      {ping !== null && (
        <p class="ping-result" role="status">
          {typeof ping === 'string' ? ping : ping.ok ? `pong in ${ping.rtt_ms} ms` : `no pong: ${ping.error ?? JSON.stringify(ping.result)}`}
        </p>
      )}

      <h2>Commands</h2>
      <p class="muted">The commands this key's grant allows; the agent's own policy may allow fewer.</p>
      <div class="commands">
        {allowed.map((command) => (
          <CommandForm key={command} command={command} fields={COMMAND_FIELDS[command] ?? []} disabled={key.status !== 'active'} onSend={send} />
        ))}
      </div>
      {commandId && (
        <JobOutput
          commandId={commandId}
          onFinished={() => {
            void loadArtifacts();
            void loadRecent();
          }}
        />
      )}

      <h2>Recent commands</h2>
      <CommandTable commands={recent} keyName={() => key.name} />

      <h2>Backups on the hub</h2>
      <ArtifactTable artifacts={artifacts} keyName={() => key.name} onDelete={removeArtifact} />
    </section>
  );
}
