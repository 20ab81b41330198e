// The embedded store: one node:sqlite connection in WAL mode with synchronous=NORMAL. A group
// commit is one transaction on the main thread (no fsync, so it is short); the batch counts as
// durable once the WAL has been synced by the checkpoint worker of durability-barrier.ts, which
// covers every batch committed before it. Several hub processes may share the file (SQLite
// serialises writers); first-result-wins holds across them through the conditional UPDATE.
import { randomUUID } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { loadSqlite } from '@tether/shared/sqlite.ts';
import { hashSecret } from '@tether/shared/crypto.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { keySelectorSchema } from '@tether/shared/protocol/labels.ts';
import type { KeySelector, Labels } from '@tether/shared/protocol/labels.ts';
import { DurabilityBarrier } from './durability-barrier.ts';
import { BatchedWrites } from '../batched-writes.ts';
import type { CommittedBatch } from '../group-commit.ts';
import { pendingMigrations } from '../migrations.ts';
import type { Migration } from '../migrations.ts';
import { toAgent, toBatch, toBatchTarget, toCommand, toEvent, toKey, toRelease } from '../rows.ts';
import { DEFAULT_PERMISSIONS, checkedLabels, checkedPermissions, newKeyId, newKeySecret } from '../key-material.ts';
import { MAX_EVENTS_PER_COMMAND, chunksOf } from '../store.ts';
import type { AuditEntry, AuditFilter, CommandHistoryFilter, HeartbeatPoint, NewAuditEntry } from '../store.ts';
import * as consoleQueries from './console-queries.ts';
import * as rolloutQueries from './rollout-queries.ts';
import * as alertQueries from './alert-queries.ts';
import type { AlertDelivery, AlertFilter, AlertRecord, NewAlert } from '../alert-records.ts';
import type { NewRollout, NewRolloutHost, RolloutHost, RolloutHostChange, RolloutRecord, RolloutTransition } from '../rollout-records.ts';
import * as verifyQueries from './verify-result-queries.ts';
import { StatementCache } from './statement-cache.ts';
import * as operatorQueries from './operator-queries.ts';
import { checkConcurrency, summarise } from '../batch-rules.ts';
import type {
  AgentRecord,
  AgentRegistration,
  BatchRecord,
  BatchSummary,
  BatchTarget,
  BatchTargetState,
  CommandRecord,
  CompleteCommand,
  CounterHit,
  HubStore,
  IssuedKey,
  KeyPatch,
  StoreTuning,
  WriteOptions,
  VerifyResultRecord,
  OperatorCredentials,
  OperatorPatch,
  OperatorRecord,
  KeyRecord,
  NewBatch,
  NewCommand,
  NewKey,
  ReleaseRecord,
  SigningKeyPair,
  StoredEvent,
} from '../store.ts';
import type { StoreWrite, WriteResult } from '../writes.ts';
import { SQLITE_MIGRATIONS } from './migrations.ts';

type Row = Record<string, unknown>;

export interface SqliteStoreOptions {
  path: string;
  log: Logger;
  /** For tests of the migration scheme; the hub uses SQLITE_MIGRATIONS. */
  migrations?: readonly Migration[];
}

export type SqliteStoreOpenOptions = SqliteStoreOptions & StoreTuning;

/** Applies pending migrations in one transaction; refuses a database newer than the code. */
export function migrateSqlite(db: DatabaseSync, migrations: readonly Migration[] = SQLITE_MIGRATIONS): number[] {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const applied = (db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((row) => Number(row.version));
    const pending = pendingMigrations(migrations, applied, 'SQLite');
    for (const migration of pending) {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, new Date().toISOString());
    }
    db.exec('COMMIT');
    return pending.map((migration) => migration.version);
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

export class SqliteStore implements HubStore {
  readonly engine = 'sqlite' as const;
  readonly #db: DatabaseSync;
  readonly #statements: StatementCache;
  readonly #barrier: DurabilityBarrier;
  readonly #writes: BatchedWrites;
  readonly #sql: Record<string, StatementSync>;
  readonly #eventsPerCommand: number;

  static async open(options: SqliteStoreOpenOptions): Promise<SqliteStore> {
    const { DatabaseSync: Sqlite } = loadSqlite();
    const db = new Sqlite(options.path);
    try {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
      migrateSqlite(db, options.migrations);
    } catch (error) {
      db.close();
      throw error;
    }
    return new SqliteStore(db, options);
  }

  private constructor(db: DatabaseSync, options: SqliteStoreOpenOptions) {
    this.#db = db;
    this.#statements = new StatementCache(db);
    this.#eventsPerCommand = options.eventsPerCommand ?? MAX_EVENTS_PER_COMMAND;
    this.#barrier = new DurabilityBarrier(db, options.path, options.log);
    this.#writes = new BatchedWrites((writes) => this.#commit(writes));
    const prepare = (sql: string) => db.prepare(sql);
    this.#sql = {
      insertCommand: prepare(
        `INSERT INTO commands (command_id, key_id, command, data, status, created_at, deadline, timeout_s, batch_id)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?) ON CONFLICT (command_id) DO NOTHING`,
      ),
      markSent: prepare("UPDATE commands SET status = 'sent', sent_at = ?, sent_via = ? WHERE command_id = ? AND status IN ('queued', 'sent')"),
      markExpired: prepare("UPDATE commands SET status = 'expired', completed_at = ? WHERE command_id = ? AND status IN ('queued', 'sent')"),
      expireTarget: prepare("UPDATE batch_targets SET state = 'expired', updated_at = ? WHERE command_id = ? AND state = 'running'"),
      complete: prepare('UPDATE commands SET status = ?, completed_at = ?, result = ? WHERE command_id = ? AND key_id = ? AND result IS NULL'),
      finishTarget: prepare('UPDATE batch_targets SET state = ?, updated_at = ? WHERE command_id = ?'),
      eventRoom: prepare('SELECT (SELECT COUNT(*) FROM commands WHERE command_id = ?) AS known, (SELECT COUNT(*) FROM job_events WHERE command_id = ?) AS count'),
      insertEvent: prepare('INSERT INTO job_events (command_id, type, event, created_at) VALUES (?, ?, ?, ?)'),
      register: prepare(
        `INSERT INTO agents (agent_id, key_id, hostname, version, os, transport, last_seen, register_data)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (agent_id) DO UPDATE SET key_id = excluded.key_id, hostname = excluded.hostname,
           version = excluded.version, os = excluded.os, transport = excluded.transport,
           last_seen = excluded.last_seen, register_data = excluded.register_data`,
      ),
      heartbeat: prepare('UPDATE agents SET last_seen = ?, last_heartbeat = ? WHERE agent_id = ? AND key_id = ?'),
      insertAudit: prepare('INSERT INTO audit_log (at, actor, action, key_id, command_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      getCommand: prepare('SELECT * FROM commands WHERE command_id = ?'),
      getKey: prepare('SELECT * FROM keys WHERE id = ?'),
    };
  }

  async close(): Promise<void> {
    await this.#writes.close();
    // The last batches' durability waits settle before the checkpoint worker goes.
    await this.#barrier.durable().catch(() => {});
    await this.#barrier.close();
    this.#db.close();
  }

  /** Batches committed and writes in them so far. */
  get groupCommitStats(): { batches: number; writes: number } {
    return this.#writes.stats;
  }

  // ---- group commit ----

  #commit(writes: StoreWrite[]): CommittedBatch<WriteResult> {
    const results = this.#transaction(() => writes.map((write) => this.#apply(write)));
    return { results, durable: this.#barrier.durable() };
  }

  #apply(write: StoreWrite): WriteResult {
    const sql = this.#sql;
    switch (write.kind) {
      case 'insert_command': {
        const c = write.command;
        return Number(sql.insertCommand!.run(c.command_id, c.key_id, c.command, JSON.stringify(c.data), write.at, c.deadline, c.timeout_s, null).changes) > 0;
      }
      case 'mark_sent':
        sql.markSent!.run(write.at, write.via, write.command_id);
        return undefined;
      case 'mark_expired': {
        const changed = Number(sql.markExpired!.run(write.at, write.command_id).changes) > 0;
        if (changed) sql.expireTarget!.run(write.at, write.command_id);
        return changed;
      }
      case 'complete': {
        const c = write.completion;
        const changed = Number(sql.complete!.run(c.success ? 'completed' : 'failed', write.at, JSON.stringify(c.result), c.command_id, c.key_id).changes) > 0;
        if (changed) sql.finishTarget!.run(c.success ? 'succeeded' : 'failed', write.at, c.command_id);
        return changed;
      }
      case 'event': {
        const room = sql.eventRoom!.get(write.command_id, write.command_id) as { known: number; count: number };
        if (Number(room.known) === 0 || Number(room.count) >= this.#eventsPerCommand) return undefined;
        const { lastInsertRowid } = sql.insertEvent!.run(write.command_id, write.type, JSON.stringify(write.event), write.at);
        return { id: Number(lastInsertRowid), command_id: write.command_id, type: write.type, event: write.event, created_at: write.at };
      }
      case 'registration': {
        const r = write.registration;
        sql.register!.run(r.agent_id, r.key_id, r.hostname, r.version, r.os ?? null, r.transport, write.at, JSON.stringify(r.data));
        return undefined;
      }
      case 'heartbeat':
        sql.heartbeat!.run(write.at, JSON.stringify(write.heartbeat), write.agent_id, write.key_id);
        return undefined;
      case 'audit': {
        const e = write.entry;
        sql.insertAudit!.run(write.at, e.actor, e.action, e.key_id, e.command_id, e.outcome, JSON.stringify(e.detail));
        return undefined;
      }
    }
  }

  #transaction<T>(work: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /** A write outside the group commit (keys, settings, batches): durable before it resolves. */
  async #durably<T>(work: () => T): Promise<T> {
    const result = this.#transaction(work);
    await this.#barrier.durable();
    return result;
  }

  // ---- keys ----

  async createKey(input: NewKey): Promise<IssuedKey> {
    const id = newKeyId();
    const { key, hash, prefix } = newKeySecret();
    const permissions = checkedPermissions(input.permissions ?? DEFAULT_PERMISSIONS);
    const labels = checkedLabels(input.labels);
    await this.#durably(() =>
      this.#statements
        .prepare('INSERT INTO keys (id, name, key_hash, key_prefix, permissions, status, created_at, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, input.name, hash, prefix, JSON.stringify(permissions), 'active', new Date().toISOString(), JSON.stringify(labels)),
    );
    return { record: (await this.getKey(id))!, key };
  }

  async listKeys(filter: { labels?: Labels } = {}): Promise<KeyRecord[]> {
    const { where, params } = labelWhere(checkedLabels(filter.labels));
    return (this.#statements.prepare(`SELECT * FROM keys WHERE ${where} ORDER BY created_at, id`).all(...params) as Row[]).map(toKey);
  }

  async getKey(id: string): Promise<KeyRecord | undefined> {
    const row = this.#sql.getKey!.get(id) as Row | undefined;
    return row ? toKey(row) : undefined;
  }

  async findKeyBySecret(secret: string): Promise<KeyRecord | undefined> {
    const row = this.#statements.prepare('SELECT * FROM keys WHERE key_hash = ?').get(hashSecret(secret)) as Row | undefined;
    return row ? toKey(row) : undefined;
  }

  async keyHash(id: string): Promise<string | undefined> {
    const row = this.#statements.prepare('SELECT key_hash FROM keys WHERE id = ?').get(id) as Row | undefined;
    return row ? String(row.key_hash) : undefined;
  }

  async updateKey(id: string, patch: KeyPatch): Promise<KeyRecord | undefined> {
    const changed = await this.#durably(() => {
      const current = this.#sql.getKey!.get(id) as Row | undefined;
      if (!current) return false;
      const record = toKey(current);
      this.#statements
        .prepare('UPDATE keys SET name = ?, permissions = ?, status = ?, labels = ? WHERE id = ?')
        .run(
          patch.name ?? record.name,
          JSON.stringify(checkedPermissions(patch.permissions ?? record.permissions)),
          patch.status ?? record.status,
          JSON.stringify(checkedLabels(patch.labels ?? record.labels)),
          id,
        );
      return true;
    });
    return changed ? this.getKey(id) : undefined;
  }

  async deleteKey(id: string): Promise<boolean> {
    return this.#durably(() => Number(this.#statements.prepare('DELETE FROM keys WHERE id = ?').run(id).changes) > 0);
  }

  async regenerateKey(id: string): Promise<IssuedKey | undefined> {
    const { key, hash, prefix } = newKeySecret();
    const changed = await this.#durably(() => Number(this.#statements.prepare('UPDATE keys SET key_hash = ?, key_prefix = ? WHERE id = ?').run(hash, prefix, id).changes) > 0);
    return changed ? { record: (await this.getKey(id))!, key } : undefined;
  }

  async touchKey(id: string): Promise<void> {
    this.#statements.prepare('UPDATE keys SET last_used_at = ? WHERE id = ?').run(new Date().toISOString(), id);
  }

  // ---- agents ----

  saveRegistration(registration: AgentRegistration): Promise<void> {
    return this.#writes.saveRegistration(registration);
  }

  saveHeartbeat(agentId: string, keyId: string, heartbeat: Record<string, unknown>): Promise<void> {
    return this.#writes.saveHeartbeat(agentId, keyId, heartbeat);
  }

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    const row = this.#statements.prepare('SELECT * FROM agents WHERE agent_id = ?').get(agentId) as Row | undefined;
    return row ? toAgent(row) : undefined;
  }

  async countAgentsForKey(keyId: string): Promise<number> {
    return Number((this.#statements.prepare('SELECT COUNT(*) AS n FROM agents WHERE key_id = ?').get(keyId) as Row).n);
  }

  async listAgents(): Promise<AgentRecord[]> {
    return (this.#statements.prepare('SELECT * FROM agents ORDER BY key_id, last_seen, agent_id').all() as Row[]).map(toAgent);
  }

  async latestAgentForKey(keyId: string): Promise<AgentRecord | undefined> {
    const row = this.#statements.prepare('SELECT * FROM agents WHERE key_id = ? ORDER BY last_seen DESC, agent_id DESC LIMIT 1').get(keyId) as Row | undefined;
    return row ? toAgent(row) : undefined;
  }

  async agentIdsByLastSeen(keyId: string): Promise<string[]> {
    return (this.#statements.prepare('SELECT agent_id FROM agents WHERE key_id = ? ORDER BY last_seen, agent_id').all(keyId) as Row[]).map((row) => String(row.agent_id));
  }

  async deleteAgent(agentId: string): Promise<void> {
    await this.#durably(() => {
      this.#statements.prepare('DELETE FROM agents WHERE agent_id = ?').run(agentId);
      consoleQueries.deleteHeartbeatPoints(this.#statements, agentId);
    });
  }

  // ---- the console: history, hosts, heartbeat ring, audit log (sqlite/console-queries.ts) ----

  async listCommands(filter: CommandHistoryFilter): Promise<CommandRecord[]> {
    return consoleQueries.listCommands(this.#statements, filter);
  }

  /** Not waited for durability: a lost point is a gap in a chart. */
  async recordHeartbeatPoint(agentId: string, keyId: string, point: HeartbeatPoint): Promise<void> {
    consoleQueries.recordHeartbeatPoint(this.#statements, agentId, keyId, point);
  }

  async heartbeatHistory(agentId: string, since: string): Promise<HeartbeatPoint[]> {
    return consoleQueries.heartbeatHistory(this.#statements, agentId, since);
  }

  appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.#writes.appendAudit(entry);
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    return consoleQueries.listAudit(this.#statements, filter);
  }

  async pruneAudit(before: Date): Promise<number> {
    return this.#durably(() => consoleQueries.pruneAudit(this.#statements, before));
  }

  // ---- alerts (sqlite/alert-queries.ts) ----

  async openAlert(alert: NewAlert): Promise<AlertRecord | undefined> {
    return this.#durably(() => alertQueries.openAlert(this.#db, alert));
  }

  async resolveAlert(incidentKey: string): Promise<AlertRecord | undefined> {
    return this.#durably(() => alertQueries.resolveAlert(this.#db, incidentKey));
  }

  async listAlerts(filter: AlertFilter): Promise<AlertRecord[]> {
    return alertQueries.listAlerts(this.#db, filter);
  }

  async recordAlertDelivery(incidentKey: string, sequence: number, event: 'alert' | 'recovery', delivery: AlertDelivery): Promise<void> {
    await this.#durably(() => alertQueries.recordAlertDelivery(this.#db, incidentKey, sequence, event, delivery));
  }

  // ---- staged rollouts (sqlite/rollout-queries.ts) ----

  async createRollout(input: NewRollout, hosts: readonly NewRolloutHost[]): Promise<RolloutRecord> {
    const rolloutId = await this.#durably(() => rolloutQueries.createRollout(this.#db, input, hosts));
    return rolloutQueries.getRollout(this.#db, rolloutId)!;
  }

  async getRollout(rolloutId: string): Promise<RolloutRecord | undefined> {
    return rolloutQueries.getRollout(this.#db, rolloutId);
  }

  async listRollouts(limit: number): Promise<RolloutRecord[]> {
    return rolloutQueries.listRollouts(this.#db, limit);
  }

  async listRolloutHosts(rolloutId: string): Promise<RolloutHost[]> {
    return rolloutQueries.listRolloutHosts(this.#db, rolloutId);
  }

  async activeRolloutIds(): Promise<string[]> {
    return rolloutQueries.activeRolloutIds(this.#db);
  }

  async startRolloutHosts(rolloutId: string, options: { keyIds: readonly string[]; limit: number }): Promise<CommandRecord[]> {
    const ids = await this.#durably(() => rolloutQueries.startRolloutHosts(this.#db, rolloutId, options));
    return ids.map((id) => toCommand(this.#sql.getCommand!.get(id) as Row));
  }

  async settleRolloutHost(rolloutId: string, keyId: string, change: RolloutHostChange): Promise<{ changed: boolean; halted: boolean }> {
    return this.#durably(() => rolloutQueries.settleRolloutHost(this.#db, rolloutId, keyId, change));
  }

  async transitionRollout(rolloutId: string, transition: RolloutTransition): Promise<RolloutRecord | undefined> {
    const changed = await this.#durably(() => rolloutQueries.transitionRollout(this.#db, rolloutId, transition));
    return changed ? rolloutQueries.getRollout(this.#db, rolloutId) : undefined;
  }

  // ---- restore test results (sqlite/verify-result-queries.ts) ----

  async putVerifyResult(record: VerifyResultRecord): Promise<void> {
    await this.#durably(() => verifyQueries.putVerifyResult(this.#statements, record));
  }

  async getVerifyResult(keyId: string, artifactId: string): Promise<VerifyResultRecord | undefined> {
    return verifyQueries.getVerifyResult(this.#statements, keyId, artifactId);
  }

  async listVerifyResults(keyId: string): Promise<VerifyResultRecord[]> {
    return verifyQueries.listVerifyResults(this.#statements, keyId);
  }

  async deleteVerifyResult(keyId: string, artifactId: string): Promise<boolean> {
    return this.#durably(() => verifyQueries.deleteVerifyResult(this.#statements, keyId, artifactId));
  }

  // ---- operator accounts (sqlite/operator-queries.ts) ----

  async createOperator(input: { name: string; password_hash: string }): Promise<OperatorRecord | undefined> {
    return this.#durably(() => operatorQueries.createOperator(this.#db, input));
  }

  async listOperators(): Promise<OperatorRecord[]> {
    return operatorQueries.listOperators(this.#db);
  }

  async getOperator(name: string): Promise<OperatorCredentials | undefined> {
    return operatorQueries.getOperator(this.#db, name);
  }

  async updateOperator(name: string, patch: OperatorPatch): Promise<OperatorRecord | undefined> {
    return this.#durably(() => operatorQueries.updateOperator(this.#db, name, patch));
  }

  async deleteOperator(name: string): Promise<boolean> {
    return this.#durably(() => operatorQueries.deleteOperator(this.#db, name));
  }

  /** Not waited for durability: a lost time of a sign-in is harmless. */
  async touchOperator(name: string): Promise<void> {
    operatorQueries.touchOperator(this.#db, name);
  }

  // ---- commands ----

  insertCommand(command: NewCommand, options?: WriteOptions): Promise<boolean> {
    return this.#writes.insertCommand(command, options);
  }

  async getCommand(commandId: string): Promise<CommandRecord | undefined> {
    const row = this.#sql.getCommand!.get(commandId) as Row | undefined;
    return row ? toCommand(row) : undefined;
  }

  async unanswered(keyId: string): Promise<CommandRecord[]> {
    return (this.#statements.prepare("SELECT * FROM commands WHERE key_id = ? AND status IN ('queued', 'sent') ORDER BY created_at, rowid").all(keyId) as Row[]).map(toCommand);
  }

  markSent(commandId: string, via: string, options?: WriteOptions): Promise<void> {
    return this.#writes.markSent(commandId, via, options);
  }

  markExpired(commandId: string): Promise<boolean> {
    return this.#writes.markExpired(commandId);
  }

  completeCommand(completion: CompleteCommand, options?: WriteOptions): Promise<boolean> {
    return this.#writes.completeCommand(completion, options);
  }

  durable(): Promise<void> {
    return this.#barrier.durable();
  }

  // ---- events ----

  appendEvent(commandId: string, type: string, event: Record<string, unknown>): Promise<StoredEvent | undefined> {
    return this.#writes.appendEvent(commandId, type, event);
  }

  async listEventsAfter(commandId: string, afterId: number): Promise<StoredEvent[]> {
    return (this.#statements.prepare('SELECT * FROM job_events WHERE command_id = ? AND id > ? ORDER BY id').all(commandId, afterId) as Row[]).map(toEvent);
  }

  // ---- settings and identity ----

  async readSetting(name: string): Promise<string | undefined> {
    const row = this.#statements.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined;
    return row?.value;
  }

  async writeSetting(name: string, value: string): Promise<void> {
    await this.#durably(() => this.#statements.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(name, value));
  }

  async ensureSetting(name: string, value: string): Promise<string> {
    return this.#durably(() => {
      this.#statements.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(name, value);
      return (this.#statements.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string }).value;
    });
  }

  async getSigningKey(): Promise<SigningKeyPair | undefined> {
    const row = this.#statements.prepare('SELECT private_key_pem, public_key FROM signing_keys WHERE id = 1').get() as Row | undefined;
    return row ? { privateKeyPem: String(row.private_key_pem), publicKey: String(row.public_key) } : undefined;
  }

  async ensureSigningKey(candidate: SigningKeyPair): Promise<SigningKeyPair> {
    await this.#durably(() =>
      this.#statements
        .prepare('INSERT INTO signing_keys (id, private_key_pem, public_key, created_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING')
        .run(candidate.privateKeyPem, candidate.publicKey, new Date().toISOString()),
    );
    return (await this.getSigningKey())!;
  }

  // ---- releases ----

  async putRelease(release: Omit<ReleaseRecord, 'published_at'>, tarball: Uint8Array): Promise<ReleaseRecord> {
    await this.#durably(() => {
      this.#statements
        .prepare(
          `INSERT INTO releases (version, platform, arch, sha256, size, key_id, tarball, manifest, signature, published_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (version, platform) DO UPDATE SET arch = excluded.arch, sha256 = excluded.sha256, size = excluded.size,
             key_id = excluded.key_id, tarball = excluded.tarball, manifest = excluded.manifest, signature = excluded.signature,
             published_at = excluded.published_at`,
        )
        .run(release.version, release.platform, release.arch, release.sha256, release.size, release.key_id, release.tarball, release.manifest, release.signature, new Date().toISOString());
      this.#statements.prepare('DELETE FROM release_chunks WHERE version = ? AND platform = ?').run(release.version, release.platform);
      const insert = this.#statements.prepare('INSERT INTO release_chunks (version, platform, seq, bytes) VALUES (?, ?, ?, ?)');
      for (const [seq, bytes] of chunksOf(tarball)) insert.run(release.version, release.platform, seq, bytes);
    });
    return (await this.getRelease(release.version, release.platform))!;
  }

  async releaseChunk(version: string, platform: string, index: number): Promise<Buffer | undefined> {
    const row = this.#statements.prepare('SELECT bytes FROM release_chunks WHERE version = ? AND platform = ? AND seq = ?').get(version, platform, index) as Row | undefined;
    return row ? Buffer.from(row.bytes as Uint8Array) : undefined;
  }

  async getRelease(version: string, platform: string): Promise<ReleaseRecord | undefined> {
    const row = this.#statements.prepare('SELECT * FROM releases WHERE version = ? AND platform = ?').get(version, platform) as Row | undefined;
    return row ? toRelease(row) : undefined;
  }

  async listReleases(platform?: string): Promise<ReleaseRecord[]> {
    const rows =
      platform === undefined
        ? this.#statements.prepare('SELECT * FROM releases ORDER BY published_at, version, platform').all()
        : this.#statements.prepare('SELECT * FROM releases WHERE platform = ? ORDER BY published_at, version').all(platform);
    return (rows as Row[]).map(toRelease);
  }

  // ---- counters ----

  async hitCounter(name: string, windowMs: number, by = 1): Promise<CounterHit> {
    if (!(Number.isInteger(windowMs) && windowMs > 0)) throw new Error(`counter window must be a positive whole number of ms, not ${windowMs}`);
    const windowStart = Math.floor(Date.now() / windowMs) * windowMs;
    const row = this.#transaction(
      () =>
        this.#statements
          .prepare(
            `INSERT INTO counters (name, window_start, window_ms, count) VALUES (?, ?, ?, ?)
           ON CONFLICT (name, window_start) DO UPDATE SET count = count + excluded.count RETURNING count`,
          )
          .get(name, windowStart, windowMs, by) as { count: number },
    );
    return { count: Number(row.count), resets_at: new Date(windowStart + windowMs).toISOString() };
  }

  async pruneCounters(before: Date): Promise<number> {
    return Number(this.#statements.prepare('DELETE FROM counters WHERE window_start + window_ms <= ?').run(before.getTime()).changes);
  }

  // ---- fleet commands ----

  async resolveSelector(selector: KeySelector): Promise<string[]> {
    return this.#resolve(keySelectorSchema.parse(selector));
  }

  #resolve(selector: KeySelector): string[] {
    let rows: Row[];
    if ('all' in selector) rows = this.#statements.prepare("SELECT id FROM keys WHERE status = 'active' ORDER BY created_at, id").all() as Row[];
    else if ('key_ids' in selector) {
      rows = this.#statements.prepare("SELECT id FROM keys WHERE status = 'active' AND id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id").all(JSON.stringify(selector.key_ids)) as Row[];
    } else {
      const { where, params } = labelWhere(checkedLabels(selector.labels));
      rows = this.#statements.prepare(`SELECT id FROM keys WHERE status = 'active' AND ${where} ORDER BY created_at, id`).all(...params) as Row[];
    }
    return rows.map((row) => String(row.id));
  }

  async createBatch(input: NewBatch): Promise<{ batch: BatchRecord; targets: number }> {
    const selector = keySelectorSchema.parse(input.selector);
    checkConcurrency(input.concurrency);
    const batchId = randomUUID();
    const now = new Date().toISOString();
    const targets = await this.#durably(() => {
      const keyIds = this.#resolve(selector);
      this.#statements
        .prepare('INSERT INTO batches (batch_id, selector, command, data, concurrency, deadline, timeout_s, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(batchId, JSON.stringify(selector), input.command, JSON.stringify(input.data), input.concurrency, input.deadline, input.timeout_s, now);
      const insert = this.#statements.prepare("INSERT INTO batch_targets (batch_id, key_id, state, updated_at) VALUES (?, ?, 'queued', ?)");
      for (const keyId of keyIds) insert.run(batchId, keyId, now);
      return keyIds.length;
    });
    return { batch: (await this.getBatch(batchId))!, targets };
  }

  async getBatch(batchId: string): Promise<BatchRecord | undefined> {
    const row = this.#statements.prepare('SELECT * FROM batches WHERE batch_id = ?').get(batchId) as Row | undefined;
    return row ? toBatch(row) : undefined;
  }

  async listBatchTargets(batchId: string, state?: BatchTargetState): Promise<BatchTarget[]> {
    const rows =
      state === undefined
        ? this.#statements.prepare('SELECT * FROM batch_targets WHERE batch_id = ? ORDER BY key_id').all(batchId)
        : this.#statements.prepare('SELECT * FROM batch_targets WHERE batch_id = ? AND state = ? ORDER BY key_id').all(batchId, state);
    return (rows as Row[]).map(toBatchTarget);
  }

  async startBatchTargets(batchId: string, options: { limit: number; onlineKeyIds?: string[] }): Promise<CommandRecord[]> {
    const started = await this.#durably(() => {
      const batchRow = this.#statements.prepare('SELECT * FROM batches WHERE batch_id = ?').get(batchId) as Row | undefined;
      if (!batchRow) return [];
      const batch = toBatch(batchRow);
      const now = new Date();
      if (batch.deadline !== null && Date.parse(batch.deadline) <= now.getTime()) return [];
      const running = Number((this.#statements.prepare("SELECT COUNT(*) AS n FROM batch_targets WHERE batch_id = ? AND state = 'running'").get(batchId) as Row).n);
      const room = Math.min(options.limit, batch.concurrency - running);
      if (room <= 0) return [];
      const candidates = (
        options.onlineKeyIds === undefined
          ? this.#statements.prepare("SELECT key_id FROM batch_targets WHERE batch_id = ? AND state IN ('queued', 'offline') ORDER BY key_id LIMIT ?").all(batchId, room)
          : this.#statements
              .prepare("SELECT key_id FROM batch_targets WHERE batch_id = ? AND state IN ('queued', 'offline') AND key_id IN (SELECT value FROM json_each(?)) ORDER BY key_id LIMIT ?")
              .all(batchId, JSON.stringify(options.onlineKeyIds), room)
      ) as Row[];
      const at = now.toISOString();
      const ids: string[] = [];
      for (const candidate of candidates) {
        const commandId = randomUUID();
        this.#sql.insertCommand!.run(commandId, String(candidate.key_id), batch.command, JSON.stringify(batch.data), at, batch.deadline, batch.timeout_s, batchId);
        this.#statements.prepare("UPDATE batch_targets SET state = 'running', command_id = ?, updated_at = ? WHERE batch_id = ? AND key_id = ?").run(commandId, at, batchId, String(candidate.key_id));
        ids.push(commandId);
      }
      return ids;
    });
    return started.map((id) => toCommand(this.#sql.getCommand!.get(id) as Row));
  }

  async markTargetsOffline(batchId: string, keyIds: string[]): Promise<number> {
    return this.#durably(() =>
      Number(
        this.#statements
          .prepare("UPDATE batch_targets SET state = 'offline', updated_at = ? WHERE batch_id = ? AND state = 'queued' AND key_id IN (SELECT value FROM json_each(?))")
          .run(new Date().toISOString(), batchId, JSON.stringify(keyIds)).changes,
      ),
    );
  }

  async expireBatchTargets(batchId: string, now = new Date()): Promise<number> {
    return this.#durably(() => {
      const row = this.#statements.prepare('SELECT deadline FROM batches WHERE batch_id = ?').get(batchId) as Row | undefined;
      if (!row || row.deadline === null || Date.parse(String(row.deadline)) > now.getTime()) return 0;
      return Number(
        this.#statements.prepare("UPDATE batch_targets SET state = 'expired', updated_at = ? WHERE batch_id = ? AND state IN ('queued', 'offline')").run(now.toISOString(), batchId).changes,
      );
    });
  }

  async waitingBatchesForKey(keyId: string): Promise<string[]> {
    const rows = this.#statements
      .prepare(
        `SELECT DISTINCT t.batch_id FROM batch_targets t JOIN batches b ON b.batch_id = t.batch_id
         WHERE t.key_id = ? AND t.state IN ('queued', 'offline') AND (b.deadline IS NULL OR b.deadline > ?) ORDER BY b.created_at`,
      )
      .all(keyId, new Date().toISOString()) as Row[];
    return rows.map((row) => String(row.batch_id));
  }

  async batchSummary(batchId: string): Promise<BatchSummary | undefined> {
    if (!(await this.getBatch(batchId))) return undefined;
    const rows = this.#statements.prepare('SELECT state, COUNT(*) AS n FROM batch_targets WHERE batch_id = ? GROUP BY state').all(batchId) as Row[];
    return summarise(batchId, rows);
  }
}

/** `json_extract(labels, '$."name"') = ?` per label; names are validated, so the path is plain. */
function labelWhere(labels: Labels): { where: string; params: string[] } {
  const entries = Object.entries(labels);
  if (entries.length === 0) return { where: '1 = 1', params: [] };
  return {
    where: entries.map(() => 'json_extract(labels, ?) = ?').join(' AND '),
    params: entries.flatMap(([name, value]) => [`$."${name}"`, value]),
  };
}
