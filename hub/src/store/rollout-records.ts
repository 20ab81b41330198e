// Staged rollouts in the store (issue 12): one release version to the keys a selector picks, first
// to a few canary hosts, then to the rest a few at a time. Every hub of a cluster drives the same
// rows; each change is one conditional update, so two hubs never start or settle a host twice.
import type { KeySelector } from '@tether/shared/protocol/labels.ts';
import type { RolloutHost, RolloutHostOutcome, RolloutPhase, RolloutRecord, RolloutSettings, RolloutState } from '@tether/shared/protocol/rollout-views.ts';
import { iso, isoOrNull, json } from './rows.ts';

export type { RolloutHost, RolloutHostOutcome, RolloutPhase, RolloutRecord, RolloutState };
export { ROLLOUT_HOST_OUTCOMES, ROLLOUT_STATES } from '@tether/shared/protocol/rollout-views.ts';

/** Outcomes that halt a running rollout when a host reaches them. */
export const HALTING_OUTCOMES: ReadonlySet<RolloutHostOutcome> = new Set(['failed', 'rolled_back']);

export type NewRollout = RolloutSettings;

export interface NewRolloutHost {
  key_id: string;
  canary: boolean;
  /** `skipped` for hosts that already run the version. */
  outcome: 'pending' | 'skipped';
  from_version: string | null;
  detail: string | null;
}

export interface RolloutHostChange {
  /** Only a host in one of these outcomes changes. */
  from: readonly RolloutHostOutcome[];
  to: RolloutHostOutcome;
  detail: string | null;
}

export interface RolloutTransition {
  /** Only a rollout in one of these states changes. */
  from: readonly RolloutState[];
  to: RolloutState;
  phase?: RolloutPhase;
  halt_reason?: string | null;
}

type Row = Record<string, unknown>;

function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

export function toRollout(row: Row): RolloutRecord {
  return {
    rollout_id: String(row.rollout_id),
    version: String(row.version),
    selector: json<KeySelector>(row.selector),
    canaries: Number(row.canaries),
    max_in_flight_percent: Number(row.max_in_flight_percent),
    host_timeout_s: Number(row.host_timeout_s),
    created_by: String(row.created_by),
    state: row.state as RolloutState,
    phase: row.phase as RolloutPhase,
    halt_reason: textOrNull(row.halt_reason),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function toRolloutHost(row: Row): RolloutHost {
  return {
    rollout_id: String(row.rollout_id),
    key_id: String(row.key_id),
    position: Number(row.position),
    canary: row.canary === true || Number(row.canary) === 1,
    outcome: row.outcome as RolloutHostOutcome,
    command_id: textOrNull(row.command_id),
    from_version: textOrNull(row.from_version),
    detail: textOrNull(row.detail),
    started_at: isoOrNull(row.started_at),
    finished_at: isoOrNull(row.finished_at),
    updated_at: iso(row.updated_at),
  };
}
