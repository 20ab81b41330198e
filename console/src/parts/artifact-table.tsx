// Backup artifacts stored on the hub, as a table with download, verify (the hub checks its copy
// against the sha256 recorded at upload) and delete; shared by the Backups and Host pages.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { StoredArtifact } from '../api.ts';
import { ago, bytes } from '../format.ts';

export function downloadHref(artifact: StoredArtifact): string {
  return `/api/artifacts/${encodeURIComponent(artifact.key_id)}/${encodeURIComponent(artifact.id)}/download`;
}

/** The hub reads its copy and checks it against the sha256 recorded at upload; the answer in words. */
async function verifyOnHub(artifact: StoredArtifact): Promise<string> {
  try {
    const answer = await api<{ ok: boolean; bytes: number; sha256: string }>('POST', `/api/artifacts/${encodeURIComponent(artifact.key_id)}/${encodeURIComponent(artifact.id)}/verify`);
    return answer.ok ? `ok: ${answer.bytes} bytes match their sha256` : `damaged: sha256 ${answer.sha256.slice(0, 12)}… is not the one recorded at upload`;
  } catch (failure) {
    return (failure as Error).message;
  }
}

export function ArtifactTable(props: { artifacts: readonly StoredArtifact[]; keyName(keyId: string): string; onDelete(artifact: StoredArtifact): void }) {
  const [verdicts, setVerdicts] = useState<Record<string, string>>({});
  const verify = async (artifact: StoredArtifact) => {
    setVerdicts((before) => ({ ...before, [artifact.id]: 'verifying…' }));
    const verdict = await verifyOnHub(artifact);
    setVerdicts((before) => ({ ...before, [artifact.id]: verdict }));
  };
  return (
    <table class="artifacts">
      <thead>
        <tr>
          <th>host key</th>
          <th>target</th>
          <th>artifact</th>
          <th>made</th>
          <th>size</th>
          <th>encrypted</th>
          <th>verified</th>
          <th>sha256</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        {props.artifacts.map((artifact) => (
          <tr key={`${artifact.key_id}/${artifact.id}`} data-artifact-id={artifact.id}>
            <td>{props.keyName(artifact.key_id)}</td>
            <td>{artifact.target}</td>
            <td>
              <code>{artifact.id}</code>
            </td>
            <td title={artifact.created_at}>{ago(artifact.created_at)}</td>
            <td>{bytes(artifact.size)}</td>
            <td>{artifact.encrypted ? 'age' : <span class="error">no</span>}</td>
            <td>{artifact.verify === null ? <span class="muted">not yet</span> : artifact.verify.ok ? <span class="state online">ok</span> : <span class="state disabled">failed</span>}</td>
            <td>
              <code class="muted" title={artifact.sha256}>
                {artifact.sha256.slice(0, 12)}
              </code>
            </td>
            <td class="actions">
              <a class="button" href={downloadHref(artifact)} download data-test="download">
                Download
              </a>
              <button type="button" onClick={() => void verify(artifact)} data-test="verify">
                Verify
              </button>
              <button type="button" class="danger" onClick={() => props.onDelete(artifact)}>
                Delete
              </button>
              {verdicts[artifact.id] && (
                <div class="verdict" data-test="verdict">
                  {verdicts[artifact.id]}
                </div>
              )}
            </td>
          </tr>
        ))}
        {props.artifacts.length === 0 && (
          <tr>
            <td colSpan={9} class="muted">
              No artifacts stored on the hub. Agents upload them with backup {'{'}destination: "hub"{'}'}.
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
