// What the rollout API answers (GET /api/rollouts/:id, …; docs/api.md "Releases and rollouts"),
// declared once for the hub and the console.
import type { KeySelector } from './labels.ts';

/** `running`: hosts are being updated; `halted`: a host failed, nothing new starts until resumed; `aborted` and `completed` are final. */
export type RolloutState = 'running' | 'halted' | 'aborted' | 'completed';
export const ROLLOUT_STATES: readonly RolloutState[] = ['running', 'halted', 'aborted', 'completed'];

/** Canaries first; the rest once no canary is pending or updating. */
export type RolloutPhase = 'canary' | 'rest';

export type RolloutHostOutcome = 'pending' | 'updating' | 'succeeded' | 'failed' | 'rolled_back' | 'skipped';
export const ROLLOUT_HOST_OUTCOMES: readonly RolloutHostOutcome[] = ['pending', 'updating', 'succeeded', 'failed', 'rolled_back', 'skipped'];

export interface RolloutSettings {
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

export interface RolloutRecord extends RolloutSettings {
  rollout_id: string;
  state: RolloutState;
  phase: RolloutPhase;
  /** Why it halted (the host and what happened), null while it has not. */
  halt_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface RolloutHost {
  rollout_id: string;
  key_id: string;
  /** Order of the selector's keys. */
  position: number;
  canary: boolean;
  outcome: RolloutHostOutcome;
  /** The `update` command sent to it. */
  command_id: string | null;
  /** The version its agent ran when the rollout started, if any. */
  from_version: string | null;
  detail: string | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export interface RolloutView extends RolloutRecord {
  counts: Record<RolloutHostOutcome, number>;
  total: number;
  /** Aborted or completed, and no host is updating any more: nothing will change. */
  done: boolean;
}

export interface RolloutHostView extends RolloutHost {
  hostname: string | null;
  agent_version: string | null;
}

export interface RolloutDetailView extends RolloutView {
  hosts: RolloutHostView[];
}

/** GET /api/releases: one published version. */
export interface PublishedRelease {
  version: string;
  platforms: Array<{ platform: string; arch: string; size: number; sha256: string; key_id: string | null }>;
}
