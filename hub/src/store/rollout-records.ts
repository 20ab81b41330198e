// Staged rollouts in the store (issue 12): one release version to the keys a selector picks, first
// to a few canary hosts, then to the rest a few at a time. Every hub of a cluster drives the same
// rows; each change is one conditional update, so two hubs never start or settle a host twice.
import type { KeySelector } from '@tether/shared/protocol/labels.ts';
import { iso, isoOrNull, json } from './rows.ts';

/** `running`: hosts are being updated; `halted`: a host failed, nothing new starts until resumed; `aborted` and `completed` are final. */
export type RolloutState = 'running' | 'halted' | 'aborted' | 'completed';
export const ROLLOUT_STATES: readonly RolloutState[] = ['running', 'halted', 'aborted', 'completed'];

/** Canaries first; the rest once no canary is pending or updating. */
export type RolloutPhase = 'canary' | 'rest';

export type RolloutHostOutcome = 'pending' | 'updating' | 'succeeded' | 'failed' | 'rolled_back' | 'skipped';
export const ROLLOUT_HOST_OUTCOMES: readonly RolloutHostOutcome[] = ['pending', 'updating', 'succeeded', 'failed', 'rolled_back', 'skipped'];

/** Outcomes that halt a running rollout when a host reaches them. */
export const HALTING_OUTCOMES: ReadonlySet<RolloutHostOutcome> = new Set(['failed', 'rolled_back']);

export interface NewRollout {
  version: string;
  selector: KeySelector;
  /** How many hosts (the first ones the selector picks) update first, all at once. */
  canaries: number;
  /** Of all hosts, how many percent may be updating at once after the canaries (at least one). */
  max_in_flight_percent: number;
  /** A host that has not come back on the new version this long after its update was sent has failed. */
  host_timeout_s: number;
  /** Who started it (the audit actor). */
  created_by: string;
}

export interface RolloutRecord extends NewRollout {
  rollout_id: string;
  state: RolloutState;
  phase: RolloutPhase;
  /** Why it halted (the host and what happened), null while it has not. */
  halt_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface NewRolloutHost {
  key_id: string;
  canary: boolean;
  /** `skipped` for hosts that already run the version. */
  outcome: 'pending' | 'skipped';
  /** The version its agent last registered with, if any. */
  from_version: string | null;
  detail: string | null;
}

export interface RolloutHost extends Omit<NewRolloutHost, 'outcome'> {
  rollout_id: string;
  /** Order of the selector's keys: canaries are the first `canaries` positions. */
  position: number;
  outcome: RolloutHostOutcome;
  /** The `update` command sent to it. */
  command_id: string | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
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
