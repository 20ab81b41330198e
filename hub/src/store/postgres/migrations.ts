// PostgreSQL schema versions (applied by postgres-store.ts under an advisory lock, so hubs
// starting together migrate once).
import type { Migration } from '../migrations.ts';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE settings (
  name text PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE keys (
  id text PRIMARY KEY,
  name text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  key_prefix text NOT NULL,
  permissions jsonb NOT NULL,
  labels jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL CHECK (status IN ('active', 'disabled')),
  created_at timestamptz NOT NULL,
  last_used_at timestamptz
);
CREATE INDEX keys_by_labels ON keys USING gin (labels jsonb_path_ops);
CREATE TABLE agents (
  agent_id text PRIMARY KEY,
  key_id text NOT NULL,
  hostname text NOT NULL,
  version text NOT NULL,
  os text,
  transport text NOT NULL,
  last_seen timestamptz NOT NULL,
  register_data jsonb NOT NULL,
  last_heartbeat jsonb
);
CREATE TABLE batches (
  batch_id text PRIMARY KEY,
  selector jsonb NOT NULL,
  command text NOT NULL,
  data jsonb NOT NULL,
  concurrency integer NOT NULL CHECK (concurrency > 0),
  deadline timestamptz,
  timeout_s double precision,
  created_at timestamptz NOT NULL
);
CREATE TABLE commands (
  seq bigserial UNIQUE,
  command_id text PRIMARY KEY,
  key_id text NOT NULL,
  command text NOT NULL,
  data jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'sent', 'completed', 'failed', 'expired')),
  created_at timestamptz NOT NULL,
  sent_at timestamptz,
  sent_via text,
  completed_at timestamptz,
  deadline timestamptz,
  timeout_s double precision,
  result jsonb,
  batch_id text REFERENCES batches (batch_id) ON DELETE SET NULL
);
CREATE INDEX commands_by_key_status ON commands (key_id, status, seq);
CREATE INDEX commands_by_batch ON commands (batch_id) WHERE batch_id IS NOT NULL;
CREATE TABLE job_events (
  id bigserial PRIMARY KEY,
  command_id text NOT NULL,
  type text NOT NULL,
  event jsonb NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX job_events_by_command ON job_events (command_id, id);
CREATE TABLE signing_keys (
  id integer PRIMARY KEY CHECK (id = 1),
  private_key_pem text NOT NULL,
  public_key text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE releases (
  version text NOT NULL,
  platform text NOT NULL,
  arch text NOT NULL,
  sha256 text NOT NULL,
  size bigint NOT NULL,
  key_id text NOT NULL,
  tarball text NOT NULL,
  manifest text NOT NULL,
  signature text NOT NULL,
  published_at timestamptz NOT NULL,
  PRIMARY KEY (version, platform)
);
CREATE TABLE counters (
  name text NOT NULL,
  window_start bigint NOT NULL,
  window_ms bigint NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (name, window_start)
);
CREATE TABLE batch_targets (
  batch_id text NOT NULL REFERENCES batches (batch_id) ON DELETE CASCADE,
  key_id text NOT NULL,
  state text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'offline', 'expired')),
  command_id text UNIQUE,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (batch_id, key_id)
);
CREATE INDEX batch_targets_by_state ON batch_targets (batch_id, state);
CREATE INDEX batch_targets_by_key ON batch_targets (key_id, state);
`,
  },
  {
    version: 2,
    name: 'console: command history index, heartbeat ring, audit log',
    sql: `
CREATE INDEX commands_by_created ON commands (created_at, command_id);
CREATE TABLE heartbeat_points (
  agent_id text NOT NULL,
  slot integer NOT NULL CHECK (slot >= 0 AND slot < 1440),
  key_id text NOT NULL,
  at timestamptz NOT NULL,
  point jsonb NOT NULL,
  PRIMARY KEY (agent_id, slot)
);
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  key_id text,
  command_id text,
  outcome text NOT NULL,
  detail jsonb NOT NULL
);
CREATE INDEX audit_log_by_at ON audit_log (at);
CREATE INDEX audit_log_by_key ON audit_log (key_id, id);
`,
  },
  {
    version: 3,
    name: 'restore test results of artifacts (were <id>.verify.json files beside them)',
    sql: `
CREATE TABLE verify_results (
  key_id text NOT NULL,
  artifact_id text NOT NULL,
  ok boolean NOT NULL,
  result jsonb NOT NULL,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (key_id, artifact_id)
);
`,
  },
  {
    version: 4,
    name: 'operator accounts of the console',
    sql: `
CREATE TABLE operators (
  name text PRIMARY KEY,
  password_hash text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'disabled')),
  created_at timestamptz NOT NULL,
  last_sign_in_at timestamptz
);
`,
  },
  {
    version: 5,
    name: 'rollouts: staged release rollouts and their hosts',
    sql: `
CREATE TABLE rollouts (
  rollout_id text PRIMARY KEY,
  version text NOT NULL,
  selector jsonb NOT NULL,
  canaries integer NOT NULL,
  max_in_flight_percent integer NOT NULL,
  host_timeout_s integer NOT NULL,
  created_by text NOT NULL,
  state text NOT NULL CHECK (state IN ('running', 'halted', 'aborted', 'completed')),
  phase text NOT NULL CHECK (phase IN ('canary', 'rest')),
  halt_reason text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX rollouts_by_state ON rollouts (state);
CREATE INDEX rollouts_by_created ON rollouts (created_at);
CREATE TABLE rollout_hosts (
  rollout_id text NOT NULL REFERENCES rollouts (rollout_id) ON DELETE CASCADE,
  key_id text NOT NULL,
  position integer NOT NULL,
  canary boolean NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('pending', 'updating', 'succeeded', 'failed', 'rolled_back', 'skipped')),
  command_id text,
  from_version text,
  detail text,
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (rollout_id, key_id)
);
CREATE INDEX rollout_hosts_by_outcome ON rollout_hosts (outcome, rollout_id);
`,
  },
  {
    version: 6,
    name: 'alerts: one row per incident subject, opened and resolved once across hubs',
    sql: `
CREATE TABLE alerts (
  incident_key text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('host_offline', 'rollout_halted', 'backup_stale')),
  state text NOT NULL CHECK (state IN ('firing', 'resolved')),
  sequence integer NOT NULL,
  summary text NOT NULL,
  detail jsonb NOT NULL,
  fired_at timestamptz NOT NULL,
  resolved_at timestamptz,
  fire_delivery jsonb,
  resolve_delivery jsonb,
  updated_at timestamptz NOT NULL
);
CREATE INDEX alerts_by_state ON alerts (state, updated_at);
`,
  },
  {
    version: 7,
    name: 'release tarballs in the store (were files in <data-dir>/releases), so every hub serves every release',
    sql: `
CREATE TABLE release_chunks (
  version text NOT NULL,
  platform text NOT NULL,
  seq integer NOT NULL CHECK (seq >= 0),
  bytes bytea NOT NULL,
  PRIMARY KEY (version, platform, seq),
  FOREIGN KEY (version, platform) REFERENCES releases (version, platform) ON DELETE CASCADE
);
`,
  },
];
