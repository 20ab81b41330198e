// What a rollout host's outcome is, from what the store knows: its `update` command's result and
// the registration its agent sent after restarting (version, and the supervisor's update_outcome).
// Pure functions, so every hub of a cluster judges a host the same way.
import { updateOutcomeSchema } from '@tether/shared/protocol/agent-messages.ts';
import type { AgentRecord, CommandRecord } from '../store/store.ts';
import type { RolloutHost, RolloutHostOutcome, RolloutRecord } from '../store/rollout-records.ts';

export interface Verdict {
  to: RolloutHostOutcome;
  detail: string;
}

type UpdateOutcome = ReturnType<typeof updateOutcomeSchema.parse>;

/** How many hosts may be updating at once: every canary in the canary phase, else the percentage of all hosts (at least one). */
export function inFlightLimit(rollout: Pick<RolloutRecord, 'phase' | 'canaries' | 'max_in_flight_percent'>, hostCount: number): number {
  if (rollout.phase === 'canary') return Math.max(1, rollout.canaries);
  return Math.max(1, Math.floor((hostCount * rollout.max_in_flight_percent) / 100));
}

/** The supervisor's report of an update to `version` made since `since` (ISO), from the agent's last registration. */
export function updateOutcomeSince(agent: AgentRecord | undefined, version: string, since: string): UpdateOutcome | undefined {
  const parsed = updateOutcomeSchema.safeParse(agent?.register_data.update_outcome);
  if (!parsed.success || parsed.data.to !== version) return undefined;
  // Reported without a time (an older supervisor): taken as this update's.
  if (parsed.data.at !== undefined && Date.parse(parsed.data.at) < Date.parse(since)) return undefined;
  return parsed.data;
}

function resultError(result: Record<string, unknown>): string {
  const code = typeof result.error_code === 'string' ? `${result.error_code}: ` : '';
  return `${code}${typeof result.error === 'string' ? result.error : 'the agent answered without an error message'}`;
}

/** A host being updated: its outcome once it is known, or null while it is not yet. */
export function judgeUpdating(rollout: RolloutRecord, host: RolloutHost, command: CommandRecord | undefined, agent: AgentRecord | undefined, now: number): Verdict | null {
  const version = rollout.version;
  if (!command) return { to: 'failed', detail: 'its update command is no longer in the store' };
  if (command.status === 'expired') return { to: 'failed', detail: 'its update command expired before the agent took it' };
  const result = command.result;
  if (result && result.success !== true) return { to: 'failed', detail: `the update was refused: ${resultError(result)}` };
  const data = (result?.data ?? {}) as Record<string, unknown>;
  if (result && data.staged === false) return { to: 'succeeded', detail: `already runs ${version}` };
  const since = host.started_at ?? command.created_at;
  const reported = updateOutcomeSince(agent, version, since);
  if (reported?.outcome === 'rolled_back') return { to: 'rolled_back', detail: `the supervisor rolled back to ${reported.from}: ${reported.reason ?? 'no reason given'}` };
  if (reported?.outcome === 'failed') return { to: 'failed', detail: `the supervisor refused ${version} and kept ${reported.from}: ${reported.reason ?? 'no reason given'}` };
  if (result && agent?.version === version) return { to: 'succeeded', detail: `runs ${version}` };
  if (now - Date.parse(since) > rollout.host_timeout_s * 1000) {
    const where = agent ? `it last registered with ${agent.version}` : 'no agent of its key ever registered';
    return { to: 'failed', detail: `did not come back on ${version} within ${rollout.host_timeout_s} s (${where})` };
  }
  return null;
}

/** A host that came up on the new version may still fail its trial and be rolled back later. */
export function judgeSucceeded(rollout: RolloutRecord, host: RolloutHost, agent: AgentRecord | undefined): Verdict | null {
  if (host.started_at === null) return null;
  const reported = updateOutcomeSince(agent, rollout.version, host.started_at);
  if (reported?.outcome === 'rolled_back') return { to: 'rolled_back', detail: `the supervisor rolled back to ${reported.from} after it came up: ${reported.reason ?? 'no reason given'}` };
  return null;
}
