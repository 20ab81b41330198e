// What the API shows of a rollout: the record, how many hosts are in each outcome, whether it is
// over, and (for one rollout) every host with its hostname and the version its agent runs now.
import type { HubStore } from '../store/store.ts';
import { ROLLOUT_HOST_OUTCOMES } from '../store/rollout-records.ts';
import type { RolloutHost, RolloutHostOutcome, RolloutRecord } from '../store/rollout-records.ts';
import type { RolloutDetailView, RolloutView } from '@tether/shared/protocol/rollout-views.ts';

export type { RolloutView };

export function summarise(rollout: RolloutRecord, hosts: readonly RolloutHost[]): RolloutView {
  const counts = Object.fromEntries(ROLLOUT_HOST_OUTCOMES.map((outcome) => [outcome, 0])) as Record<RolloutHostOutcome, number>;
  for (const host of hosts) counts[host.outcome] += 1;
  const final = rollout.state === 'aborted' || rollout.state === 'completed';
  return { ...rollout, counts, total: hosts.length, done: final && counts.updating === 0 };
}

export async function rolloutDetail(store: HubStore, rollout: RolloutRecord): Promise<RolloutDetailView> {
  const hosts = await store.listRolloutHosts(rollout.rollout_id);
  const views = await Promise.all(
    hosts.map(async (host) => {
      const agent = await store.latestAgentForKey(host.key_id);
      return { ...host, hostname: agent?.hostname ?? null, agent_version: agent?.version ?? null };
    }),
  );
  return { ...summarise(rollout, hosts), hosts: views };
}

/** The newest rollouts with their counts (GET /api/rollouts, /metrics). */
export async function recentRollouts(store: HubStore, limit: number): Promise<RolloutView[]> {
  const rollouts = await store.listRollouts(limit);
  return Promise.all(rollouts.map(async (rollout) => summarise(rollout, await store.listRolloutHosts(rollout.rollout_id))));
}
