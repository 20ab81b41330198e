// One rollout, live: GET /api/rollouts/<id>/events sends it at once and whenever a host's outcome
// or the rollout's state changes (any hub's doing), and ends once the rollout is done.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';

export type RolloutHostOutcome = 'pending' | 'updating' | 'succeeded' | 'failed' | 'rolled_back' | 'skipped';

export interface RolloutHostView {
  key_id: string;
  hostname: string | null;
  position: number;
  canary: boolean;
  outcome: RolloutHostOutcome;
  command_id: string | null;
  from_version: string | null;
  agent_version: string | null;
  detail: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export interface RolloutView {
  rollout_id: string;
  version: string;
  selector: Record<string, unknown>;
  canaries: number;
  max_in_flight_percent: number;
  host_timeout_s: number;
  created_by: string;
  state: 'running' | 'halted' | 'aborted' | 'completed';
  phase: 'canary' | 'rest';
  halt_reason: string | null;
  created_at: string;
  updated_at: string;
  counts: Record<RolloutHostOutcome, number>;
  total: number;
  done: boolean;
  hosts?: RolloutHostView[];
}

/** The rollout as last streamed (null until the first event); `replace` shows an answer (resume, abort) at once. Key the caller by id. */
export function useRolloutStream(rolloutId: string | null): { rollout: RolloutView | null; replace(view: RolloutView): void } {
  const [rollout, setRollout] = useState<RolloutView | null>(null);
  // A halted rollout's stream stays open (a resume changes it); it ends only once the rollout is done.
  useEffect(() => {
    if (!rolloutId) return;
    const source = new EventSource(`/api/rollouts/${encodeURIComponent(rolloutId)}/events`);
    source.addEventListener('rollout', (event) => {
      const view = JSON.parse((event as MessageEvent<string>).data) as RolloutView;
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
