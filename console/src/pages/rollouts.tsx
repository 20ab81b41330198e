// Releases and rollouts: the releases published on the hub, a form to roll one out to the keys a
// selector picks (canaries first, then the rest a few at a time), the recent rollouts, and one
// rollout with every host's outcome, live, with Resume (when it halted) and Abort.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ago, bytes } from '../format.ts';
import { hostHref, rolloutHref } from '../router.ts';
import { parseLabels } from '../parts/labels-input.tsx';
import { useRolloutStream } from '../parts/use-rollout-stream.ts';
import type { PublishedRelease, RolloutDetailView, RolloutView } from '@tether/shared/protocol/rollout-views.ts';

type SelectBy = 'labels' | 'keys' | 'all';

const LIST_REFRESH_MS = 5_000;
const OUTCOME_CLASS: Record<string, string> = { succeeded: 'online', updating: 'stale', pending: 'offline', skipped: 'offline', failed: 'disabled', rolled_back: 'disabled' };
const STATE_CLASS: Record<string, string> = { running: 'stale', halted: 'disabled', aborted: 'offline', completed: 'online' };

function selectorOf(by: SelectBy, text: string): Record<string, unknown> {
  if (by === 'all') return { all: true };
  if (by === 'keys') return { key_ids: text.split(/[\s,]+/).filter(Boolean) };
  const labels = parseLabels(text);
  if (typeof labels === 'string') throw new Error(`labels: ${labels}`);
  return { labels };
}

function StartForm(props: { releases: PublishedRelease[]; onStarted(view: RolloutDetailView): void }) {
  const [version, setVersion] = useState('');
  const [by, setBy] = useState<SelectBy>('labels');
  const [target, setTarget] = useState('');
  const [canaries, setCanaries] = useState('1');
  const [inFlight, setInFlight] = useState('10');
  const [timeout, setTimeoutS] = useState('900');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const chosen = version || props.releases[0]?.version || '';

  const submit = async (event: Event) => {
    event.preventDefault();
    setError('');
    setBusy(true);
    try {
      const body = { version: chosen, selector: selectorOf(by, target), canaries: Number(canaries), max_in_flight_percent: Number(inFlight), host_timeout_s: Number(timeout) };
      props.onStarted(await api<RolloutDetailView>('POST', '/api/rollouts', body));
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="create-key start-rollout" onSubmit={submit}>
      <label>
        Version{' '}
        <select name="version" value={chosen} onChange={(event) => setVersion(event.currentTarget.value)} required>
          {props.releases.map((release) => (
            <option key={release.version} value={release.version}>
              {release.version}
            </option>
          ))}
        </select>
      </label>
      <label>
        Hosts{' '}
        <select name="select-by" value={by} onChange={(event) => setBy(event.currentTarget.value as SelectBy)}>
          <option value="labels">with labels</option>
          <option value="keys">these key ids</option>
          <option value="all">every active key</option>
        </select>
      </label>
      {by !== 'all' && (
        <label>
          {by === 'labels' ? 'Labels' : 'Key ids'}{' '}
          <input name="target" value={target} onInput={(event) => setTarget(event.currentTarget.value)} placeholder={by === 'labels' ? 'role=web env=prod' : 'key_…, key_…'} required />
        </label>
      )}
      <label>
        Canaries <input name="canaries" type="number" min={0} value={canaries} onInput={(event) => setCanaries(event.currentTarget.value)} />
      </label>
      <label>
        Max in flight % <input name="max-in-flight" type="number" min={1} max={100} value={inFlight} onInput={(event) => setInFlight(event.currentTarget.value)} />
      </label>
      <label>
        Host timeout (s) <input name="host-timeout" type="number" min={10} value={timeout} onInput={(event) => setTimeoutS(event.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy || chosen === ''} data-test="start-rollout">
        Start rollout
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function RolloutDetail(props: { rolloutId: string }) {
  const { rollout, replace } = useRolloutStream(props.rolloutId);
  const [error, setError] = useState('');
  if (!rollout) return <p class="muted">Loading rollout…</p>;
  const act = async (verb: 'resume' | 'abort') => {
    if (verb === 'abort' && !confirm(`Abort the rollout of ${rollout.version}? Hosts not updated yet are skipped.`)) return;
    setError('');
    try {
      replace(await api<RolloutDetailView>('POST', `/api/rollouts/${encodeURIComponent(rollout.rollout_id)}/${verb}`));
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const canAbort = rollout.state === 'running' || rollout.state === 'halted';
  return (
    <div class="rollout" data-rollout-id={rollout.rollout_id} data-state={rollout.state}>
      <h2>
        Rollout of {rollout.version} <span class={`state ${STATE_CLASS[rollout.state]}`}>{rollout.state}</span>
        <span class="muted">{rollout.phase === 'canary' ? 'canaries' : 'the rest'}</span>
      </h2>
      {rollout.halt_reason && (
        <p class="error halt-reason" role="status">
          Halted: {rollout.halt_reason}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p class="toolbar">
        {rollout.state === 'halted' && (
          <button type="button" onClick={() => void act('resume')} data-test="resume-rollout">
            Resume
          </button>
        )}
        {canAbort && (
          <button type="button" class="danger" onClick={() => void act('abort')} data-test="abort-rollout">
            Abort
          </button>
        )}
        <span class="muted">
          {rollout.canaries} canaries, then {rollout.max_in_flight_percent} % at a time; started {ago(rollout.created_at)} by {rollout.created_by}
        </span>
      </p>
      <table class="rollout-hosts">
        <thead>
          <tr>
            <th>host</th>
            <th>key</th>
            <th>canary</th>
            <th>outcome</th>
            <th>from</th>
            <th>runs now</th>
            <th>detail</th>
          </tr>
        </thead>
        <tbody>
          {(rollout.hosts ?? []).map((host) => (
            <tr key={host.key_id} data-key-id={host.key_id} data-outcome={host.outcome}>
              <td>{host.hostname ?? <span class="muted">never connected</span>}</td>
              <td>
                <a href={hostHref(host.key_id)}>
                  <code>{host.key_id}</code>
                </a>
              </td>
              <td>{host.canary ? 'yes' : ''}</td>
              <td>
                <span class={`state ${OUTCOME_CLASS[host.outcome]}`}>{host.outcome.replace('_', ' ')}</span>
              </td>
              <td>{host.from_version ?? '–'}</td>
              <td>{host.agent_version ?? '–'}</td>
              <td>
                <code class="detail">{host.detail ?? ''}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Rollouts(props: { rolloutId: string | null }) {
  const [releases, setReleases] = useState<PublishedRelease[] | null>(null);
  const [rollouts, setRollouts] = useState<RolloutView[]>([]);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), LIST_REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => {
    api<{ releases: PublishedRelease[] }>('GET', '/api/releases').then(
      (answer) => setReleases(answer.releases),
      (failure: Error) => setError(failure.message),
    );
  }, []);
  useEffect(() => {
    api<{ rollouts: RolloutView[] }>('GET', '/api/rollouts?limit=20').then(
      (answer) => setRollouts(answer.rollouts),
      (failure: Error) => setError(failure.message),
    );
  }, [tick, props.rolloutId]);

  return (
    <section>
      <h1>Releases and rollouts</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <h2>Published releases</h2>
      {releases === null ? (
        <p class="muted">Loading…</p>
      ) : releases.length === 0 ? (
        <p class="muted">No release is published on this hub yet: tether hub publish &lt;release-dir&gt;.</p>
      ) : (
        <table class="releases">
          <thead>
            <tr>
              <th>version</th>
              <th>platforms</th>
              <th>size</th>
              <th>signed by</th>
            </tr>
          </thead>
          <tbody>
            {releases.map((release) => (
              <tr key={release.version} data-version={release.version}>
                <td>{release.version}</td>
                <td>{release.platforms.map((platform) => platform.platform).join(', ')}</td>
                <td>{release.platforms.map((platform) => bytes(platform.size)).join(', ')}</td>
                <td>
                  <code>{[...new Set(release.platforms.map((platform) => platform.key_id ?? '–'))].join(', ')}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Start a rollout</h2>
      <p class="muted">The canaries update first, all at once; then the rest, a few at a time. A host that fails or is rolled back by its supervisor halts the rollout.</p>
      {releases && releases.length > 0 && <StartForm releases={releases} onStarted={(view) => (location.hash = rolloutHref(view.rollout_id))} />}
      {props.rolloutId && <RolloutDetail key={props.rolloutId} rolloutId={props.rolloutId} />}
      <h2>Recent rollouts</h2>
      <table class="rollouts">
        <thead>
          <tr>
            <th>version</th>
            <th>state</th>
            <th>hosts</th>
            <th>succeeded</th>
            <th>failed</th>
            <th>rolled back</th>
            <th>started</th>
          </tr>
        </thead>
        <tbody>
          {rollouts.map((rollout) => (
            <tr key={rollout.rollout_id} class="clickable" data-rollout-id={rollout.rollout_id} onClick={() => (location.hash = rolloutHref(rollout.rollout_id))}>
              <td>{rollout.version}</td>
              <td>
                <span class={`state ${STATE_CLASS[rollout.state]}`}>{rollout.state}</span>
              </td>
              <td>{rollout.total}</td>
              <td>{rollout.counts.succeeded}</td>
              <td>{rollout.counts.failed}</td>
              <td>{rollout.counts.rolled_back}</td>
              <td title={rollout.created_at}>{ago(rollout.created_at)}</td>
            </tr>
          ))}
          {rollouts.length === 0 && (
            <tr>
              <td colSpan={7} class="muted">
                No rollouts yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
