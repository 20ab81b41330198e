// One rollout, live: GET /api/rollouts/<id>/events sends it at once and whenever a host's outcome
// or the rollout's state changes (any hub's doing), and ends once the rollout is done.
import { useEffect, useState } from 'preact/hooks';
import type { RolloutDetailView } from '@tether/shared/protocol/rollout-views.ts';
import { api } from '../api.ts';

/** The rollout as last streamed (null until the first event); `replace` shows an answer (resume, abort) at once. Key the caller by id. */
export function useRolloutStream(rolloutId: string | null): { rollout: RolloutDetailView | null; replace(view: RolloutDetailView): void } {
  const [rollout, setRollout] = useState<RolloutDetailView | null>(null);
  // A halted rollout's stream stays open (a resume changes it); it ends only once the rollout is done.
  useEffect(() => {
    if (!rolloutId) return;
    const source = new EventSource(`/api/rollouts/${encodeURIComponent(rolloutId)}/events`);
    source.addEventListener('rollout', (event) => {
      const view = JSON.parse((event as MessageEvent<string>).data) as RolloutDetailView;
      setRollout(view);
      if (view.done) source.close();
    });
    source.addEventListener('expired', () => {
      source.close();
      void api('GET', '/api/console/session').catch(() => undefined);
    });
    return () => source.close();
  }, [rolloutId]);
  return { rollout, replace: setRollout };
}
