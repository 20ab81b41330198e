// Backups: per host key and target the newest artifact stored on the hub, its age, size and verify
// status, flagged when older than the threshold; below, every artifact with download and delete.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { KeyView, StoredArtifact } from '../api.ts';
import { ago, bytes } from '../format.ts';
import { ArtifactTable } from '../parts/artifact-table.tsx';

const HOUR_MS = 3_600_000;

interface TargetSummary {
  keyId: string;
  target: string;
  newest: StoredArtifact;
  count: number;
}

function summarize(artifacts: readonly StoredArtifact[]): TargetSummary[] {
  const byTarget = new Map<string, TargetSummary>();
  for (const artifact of artifacts) {
    const id = `${artifact.key_id}/${artifact.target}`;
    const known = byTarget.get(id);
    if (!known) byTarget.set(id, { keyId: artifact.key_id, target: artifact.target, newest: artifact, count: 1 });
    else {
      known.count += 1;
      if (artifact.created_at > known.newest.created_at) known.newest = artifact;
    }
  }
  return [...byTarget.values()].sort((a, b) => a.keyId.localeCompare(b.keyId) || a.target.localeCompare(b.target));
}

export function Backups() {
  const [artifacts, setArtifacts] = useState<StoredArtifact[] | null>(null);
  const [keys, setKeys] = useState<KeyView[]>([]);
  const [thresholdH, setThresholdH] = useState(26);
  const [error, setError] = useState('');
  const load = () =>
    Promise.all([api<{ artifacts: StoredArtifact[] }>('GET', '/api/artifacts'), api<{ keys: KeyView[] }>('GET', '/api/agents/keys')]).then(
      ([listed, known]) => {
        setArtifacts(listed.artifacts);
        setKeys(known.keys);
      },
      (failure: Error) => setError(failure.message),
    );
  useEffect(() => void load(), []);
  const keyName = (keyId: string) => keys.find((key) => key.id === keyId)?.name ?? keyId;
  const remove = async (artifact: StoredArtifact) => {
    if (!confirm(`Delete ${artifact.id} from the hub? This cannot be undone.`)) return;
    try {
      await api('DELETE', `/api/artifacts/${encodeURIComponent(artifact.key_id)}/${encodeURIComponent(artifact.id)}`);
    } catch (failure) {
      setError((failure as Error).message);
    }
    await load();
  };

  const now = Date.now();
  return (
    <section>
      <h1>Backups</h1>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="toolbar">
        <label>
          flag a target whose newest backup is older than{' '}
          <input type="number" min={1} value={thresholdH} onInput={(event) => setThresholdH(Number(event.currentTarget.value) || 26)} aria-label="threshold hours" /> h
        </label>
      </div>
      <table class="targets">
        <thead>
          <tr><th>host key</th><th>target</th><th>newest</th><th>age</th><th>size</th><th>verified</th><th>artifacts</th></tr>
        </thead>
        <tbody>
          {summarize(artifacts ?? []).map((summary) => {
            const stale = now - Date.parse(summary.newest.created_at) > thresholdH * HOUR_MS;
            return (
              <tr key={`${summary.keyId}/${summary.target}`} data-target={summary.target} data-stale={String(stale)}>
                <td>{keyName(summary.keyId)}</td>
                <td>{summary.target}</td>
                <td><code>{summary.newest.id}</code></td>
                <td>{ago(summary.newest.created_at, now)} {stale && <span class="state disabled">stale</span>}</td>
                <td>{bytes(summary.newest.size)}</td>
                <td>{summary.newest.verify === null ? <span class="muted">not yet</span> : summary.newest.verify.ok ? 'ok' : <span class="error">failed</span>}</td>
                <td>{summary.count}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>Artifacts on the hub</h2>
      {artifacts === null ? <p class="muted">Loading…</p> : <ArtifactTable artifacts={artifacts} keyName={keyName} onDelete={remove} />}
    </section>
  );
}
