// What the hub answers about backups: artifacts it stores (GET /api/artifacts) and the per-target
// status the hosts report (GET /api/backups/status). Types only (hub and console).

/** The latest restore test of an artifact, as the host that ran it reported it. */
export interface ArtifactVerifyResult {
  ok: boolean;
  at: string;
  duration_ms: number;
  checked: string[];
  problems: string[];
  /** Agent id of the host that ran it, when it said. */
  by?: string;
  /** The agent key that reported it (the owner, or a verify host). */
  verify_key_id: string;
  received_at: string;
}

export interface StoredArtifact {
  key_id: string;
  id: string;
  target: string;
  size: number;
  sha256: string;
  /** From the id's UTC timestamp (when the agent made it); received_at is when the hub stored it. */
  created_at: string;
  received_at: string | null;
  /** The bytes begin with the age v1 header. */
  encrypted: boolean;
  /** The latest restore test of a verify host, or null when none ran. */
  verify: ArtifactVerifyResult | null;
}

export interface TargetStatus {
  key_id: string;
  agent_id: string;
  hostname: string;
  target: string;
  alert_after_h: number | null;
  last_success_at: string | null;
  last_artifact_id: string | null;
  /** Bytes of the newest artifact, when the host reports it. */
  last_size_bytes: number | null;
  /** Hours since the newest backup, at `now`. */
  age_h: number | null;
  stale: boolean;
  /** Why it is stale, in words. */
  reason: string | null;
  last_verify: { ok: boolean; at: string; id: string } | null;
  /** When the hub last heard from the agent (the summary is as of then). */
  reported_at: string;
}
