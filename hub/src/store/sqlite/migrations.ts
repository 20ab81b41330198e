// SQLite schema versions. Version 1 is the schema hubs up to 0.1 created without versioning
// (CREATE … IF NOT EXISTS), so such a database is adopted as it is and then migrated on.
import type { Migration } from '../migrations.ts';

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema (hub 0.1)',
    sql: `
CREATE TABLE IF NOT EXISTS settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  key_prefix TEXT NOT NULL,
  permissions TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  created_at TEXT NOT NULL,
  last_used_at TEXT
);
CREATE TABLE IF NOT EXISTS agents (
  agent_id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  hostname TEXT NOT NULL,
  version TEXT NOT NULL,
  os TEXT,
  transport TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  register_data TEXT NOT NULL,
  last_heartbeat TEXT
);
CREATE TABLE IF NOT EXISTS commands (
  command_id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  command TEXT NOT NULL,
  data TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'completed', 'failed', 'expired')),
  created_at TEXT NOT NULL,
  sent_at TEXT,
  sent_via TEXT,
  completed_at TEXT,
  deadline TEXT,
  timeout_s REAL,
  result TEXT
);
CREATE INDEX IF NOT EXISTS commands_by_key_status ON commands (key_id, status, created_at);
CREATE TABLE IF NOT EXISTS job_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  command_id TEXT NOT NULL,
  type TEXT NOT NULL,
  event TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_events_by_command ON job_events (command_id, id);
`,
  },
  {
    version: 2,
    name: 'labels, fleet batches, shared identity, releases, counters',
    sql: `
ALTER TABLE keys ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE commands ADD COLUMN batch_id TEXT;
CREATE INDEX commands_by_batch ON commands (batch_id) WHERE batch_id IS NOT NULL;
CREATE TABLE signing_keys (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  private_key_pem TEXT NOT NULL,
  public_key TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE releases (
  version TEXT NOT NULL,
  platform TEXT NOT NULL,
  arch TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  tarball TEXT NOT NULL,
  manifest TEXT NOT NULL,
  signature TEXT NOT NULL,
  published_at TEXT NOT NULL,
  PRIMARY KEY (version, platform)
);
CREATE TABLE counters (
  name TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  window_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (name, window_start)
);
CREATE TABLE batches (
  batch_id TEXT PRIMARY KEY,
  selector TEXT NOT NULL,
  command TEXT NOT NULL,
  data TEXT NOT NULL,
  concurrency INTEGER NOT NULL CHECK (concurrency > 0),
  deadline TEXT,
  timeout_s REAL,
  created_at TEXT NOT NULL
);
CREATE TABLE batch_targets (
  batch_id TEXT NOT NULL REFERENCES batches (batch_id) ON DELETE CASCADE,
  key_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'offline', 'expired')),
  command_id TEXT UNIQUE,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (batch_id, key_id)
);
CREATE INDEX batch_targets_by_state ON batch_targets (batch_id, state);
CREATE INDEX batch_targets_by_key ON batch_targets (key_id, state);
`,
  },
  {
    version: 3,
    name: 'console: command history index, heartbeat ring, audit log',
    sql: `
CREATE INDEX commands_by_created ON commands (created_at, command_id);
CREATE TABLE heartbeat_points (
  agent_id TEXT NOT NULL,
  slot INTEGER NOT NULL CHECK (slot >= 0 AND slot < 1440),
  key_id TEXT NOT NULL,
  at TEXT NOT NULL,
  point TEXT NOT NULL,
  PRIMARY KEY (agent_id, slot)
);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  key_id TEXT,
  command_id TEXT,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_log_by_at ON audit_log (at);
CREATE INDEX audit_log_by_key ON audit_log (key_id, id);
`,
  },
  {
    version: 4,
    name: 'restore test results of artifacts (were <id>.verify.json files beside them)',
    sql: `
CREATE TABLE verify_results (
  key_id TEXT NOT NULL,
  artifact_id TEXT NOT NULL,
  ok INTEGER NOT NULL,
  result TEXT NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (key_id, artifact_id)
);
`,
  },
  {
    version: 5,
    name: 'operator accounts of the console',
    sql: `
CREATE TABLE operators (
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  created_at TEXT NOT NULL,
  last_sign_in_at TEXT
);
`,
  },
  {
    version: 6,
    name: 'rollouts: staged release rollouts and their hosts',
    sql: `
CREATE TABLE rollouts (
  rollout_id TEXT PRIMARY KEY,
  version TEXT NOT NULL,
  selector TEXT NOT NULL,
  canaries INTEGER NOT NULL,
  max_in_flight_percent INTEGER NOT NULL,
  host_timeout_s INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('running', 'halted', 'aborted', 'completed')),
  phase TEXT NOT NULL CHECK (phase IN ('canary', 'rest')),
  halt_reason TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX rollouts_by_state ON rollouts (state);
CREATE INDEX rollouts_by_created ON rollouts (created_at);
CREATE TABLE rollout_hosts (
  rollout_id TEXT NOT NULL REFERENCES rollouts (rollout_id) ON DELETE CASCADE,
  key_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  canary INTEGER NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('pending', 'updating', 'succeeded', 'failed', 'rolled_back', 'skipped')),
  command_id TEXT,
  from_version TEXT,
  detail TEXT,
  started_at TEXT,
  finished_at TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (rollout_id, key_id)
);
CREATE INDEX rollout_hosts_by_outcome ON rollout_hosts (outcome, rollout_id);
`,
  },
  {
    version: 7,
    name: 'alerts: one row per incident subject, opened and resolved once across hubs',
    sql: `
CREATE TABLE alerts (
  incident_key TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('host_offline', 'rollout_halted', 'backup_stale')),
  state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
  sequence INTEGER NOT NULL,
  summary TEXT NOT NULL,
  detail TEXT NOT NULL,
  fired_at TEXT NOT NULL,
  resolved_at TEXT,
  fire_delivery TEXT,
  resolve_delivery TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX alerts_by_state ON alerts (state, updated_at);
`,
  },
  {
    version: 8,
    name: 'release tarballs in the store (were files in <data-dir>/releases), so every hub serves every release',
    sql: `
CREATE TABLE release_chunks (
  version TEXT NOT NULL,
  platform TEXT NOT NULL,
  seq INTEGER NOT NULL CHECK (seq >= 0),
  bytes BLOB NOT NULL,
  PRIMARY KEY (version, platform, seq),
  FOREIGN KEY (version, platform) REFERENCES releases (version, platform) ON DELETE CASCADE
);
`,
  },
];
