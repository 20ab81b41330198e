// Backups: per host and target (as the hosts report them) the last success, its age, the newest
// artifact's size and verify status, flagged when older than the target's threshold; below, every
// artifact stored on the hub with download and delete.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { KeyView, StoredArtifact, TargetStatus } from '../api.ts';
import { ago, bytes } from '../format.ts';
import { ArtifactTable } from '../parts/artifact-table.tsx';

export function Backups() {
  const [artifacts, setArtifacts] = useState<StoredArtifact[] | null>(null);
  const [keys, setKeys] = useState<KeyView[]>([]);
  const [targets, setTargets] = useState<TargetStatus[]>([]);
  const [error, setError] = useState('');
  const load = () =>
    Promise.all([
      api<{ artifacts: StoredArtifact[] }>('GET', '/api/artifacts'),
      api<{ keys: KeyView[] }>('GET', '/api/agents/keys'),
      api<{ targets: TargetStatus[] }>('GET', '/api/backups/status'),
    ]).then(
      ([listed, known, status]) => {
        setArtifacts(listed.artifacts);
        setKeys(known.keys);
        setTargets(status.targets);
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

  const artifactSize = (id: string | null) => artifacts?.find((artifact) => artifact.id === id)?.size;
  return (
    <section>
      <h1>Backups</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p class="muted">Every target the hosts report in their heartbeats; a target is stale when its newest good backup is older than its alert_after_h (host config), or it never had one.</p>
      <table class="targets">
        <thead>
          <tr>
            <th>host</th>
            <th>key</th>
            <th>target</th>
            <th>last success</th>
            <th>threshold</th>
            <th>newest artifact</th>
            <th>size</th>
            <th>verified</th>
          </tr>
        </thead>
        <tbody>
          {targets.map((target) => {
            const size = artifactSize(target.last_artifact_id);
            return (
              <tr key={`${target.agent_id}/${target.target}`} data-target={target.target} data-stale={String(target.stale)}>
                <td>{target.hostname}</td>
                <td>{keyName(target.key_id)}</td>
                <td>{target.target}</td>
                <td title={target.last_success_at ?? ''}>
                  {ago(target.last_success_at)}{' '}
                  {target.stale && (
                    <span class="state disabled" title={target.reason ?? ''}>
                      stale
                    </span>
                  )}
                </td>
                <td>{target.alert_after_h === null ? '–' : `${target.alert_after_h} h`}</td>
                <td>
                  <code>{target.last_artifact_id ?? '–'}</code>
                </td>
                <td>{size === undefined ? <span class="muted">not on the hub</span> : bytes(size)}</td>
                <td>{target.last_verify === null ? <span class="muted">not yet</span> : target.last_verify.ok ? <span class="state online">ok</span> : <span class="state disabled">failed</span>}</td>
              </tr>
            );
          })}
          {targets.length === 0 && (
            <tr>
              <td colSpan={8} class="muted">
                No host reports a backup target yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <h2>Artifacts on the hub</h2>
      {artifacts === null ? <p class="muted">Loading…</p> : <ArtifactTable artifacts={artifacts} keyName={keyName} onDelete={remove} />}
    </section>
  );
}
