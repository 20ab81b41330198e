// The hub's SQLite database (node:sqlite) under the data dir, in WAL mode.
import type { DatabaseSync } from 'node:sqlite';
import { loadSqlite } from '@tether/shared/sqlite.ts';

export type Database = DatabaseSync;

const SCHEMA = `
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
`;

export function openDatabase(path: string): Database {
  const { DatabaseSync: Sqlite } = loadSqlite();
  const db = new Sqlite(path);
  // NORMAL: commits survive a hub crash; acks wait for a WAL sync (durability.ts) to survive power loss too.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  db.exec(SCHEMA);
  return db;
}

/** Small key/value settings (the admin token hash). */
export function readSetting(db: Database, name: string): string | undefined {
  const row = db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined;
  return row?.value;
}

export function writeSetting(db: Database, name: string, value: string): void {
  db.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(name, value);
}
