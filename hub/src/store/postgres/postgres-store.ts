// The shared store for many hubs: PostgreSQL through a `pg` Pool, synchronous_commit on, so a
// batch is durable at COMMIT. A group commit is one transaction with one statement per kind of
// write (arrays through unnest), so its cost hardly grows with its size. Rows a batch updates are
// locked in command_id order first, so two hubs' batches never deadlock on each other; the
// conditional UPDATEs (`result IS NULL`) make the first result win across every hub.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { hashSecret } from '@tether/shared/crypto.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { keySelectorSchema } from '@tether/shared/protocol/labels.ts';
import type { KeySelector, Labels } from '@tether/shared/protocol/labels.ts';
import { BatchedWrites } from '../batched-writes.ts';
import type { CommittedBatch } from '../group-commit.ts';
import { pendingMigrations } from '../migrations.ts';
import type { Migration } from '../migrations.ts';
import { toAgent, toBatch, toBatchTarget, toCommand, toEvent, toKey, toRelease } from '../rows.ts';
import { DEFAULT_PERMISSIONS, checkedLabels, checkedPermissions, newKeyId, newKeySecret } from '../key-material.ts';
import { checkConcurrency, summarise } from '../batch-rules.ts';
import { MAX_EVENTS_PER_COMMAND, chunksOf } from '../store.ts';
import type { AuditEntry, AuditFilter, CommandHistoryFilter, HeartbeatPoint, NewAuditEntry } from '../store.ts';
import * as consoleQueries from './console-queries.ts';
import * as rolloutQueries from './rollout-queries.ts';
import * as alertQueries from './alert-queries.ts';
import type { AlertDelivery, AlertFilter, AlertRecord, NewAlert } from '../alert-records.ts';
import type { NewRollout, NewRolloutHost, RolloutHost, RolloutHostChange, RolloutRecord, RolloutTransition } from '../rollout-records.ts';
import * as verifyQueries from './verify-result-queries.ts';
import * as operatorQueries from './operator-queries.ts';
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
import { POSTGRES_MIGRATIONS } from './migrations.ts';

type Row = Record<string, unknown>;
type Queryable = Pick<PoolClient, 'query'>;

/** Any constant works; hubs only need to agree on it. ("tether" in ASCII.) */
const MIGRATION_LOCK = 0x746574686572;
/** SQLSTATEs after which the whole transaction is simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);

export interface PostgresStoreOptions {
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** For tests of the migration scheme; the hub uses POSTGRES_MIGRATIONS. */
  migrations?: readonly Migration[];
  log?: Logger;
  eventsPerCommand?: StoreTuning['eventsPerCommand'];
}

export async function migratePostgres(client: Queryable, migrations: readonly Migration[] = POSTGRES_MIGRATIONS): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)');
    const applied = (await client.query('SELECT version FROM schema_migrations')).rows.map((row: Row) => Number(row.version));
    const pending = pendingMigrations(migrations, applied, 'PostgreSQL');
    for (const migration of pending) {
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())', [migration.version, migration.name]);
    }
    await client.query('COMMIT');
    return pending.map((migration) => migration.version);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

export class PostgresStore implements HubStore {
  readonly engine = 'postgres' as const;
  readonly #pool: Pool;
  readonly #writes: BatchedWrites;

  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, options: '-c synchronous_commit=on' });
    // An idle client that loses its server emits 'error'; the pool replaces it. Without a
    // listener that would crash the hub.
    pool.on('error', (error) => options.log?.warn({ err: error.message }, 'an idle PostgreSQL connection failed; the pool replaces it'));
    try {
      const client = await pool.connect();
      try {
        await migratePostgres(client, options.migrations);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresStore(pool, options.eventsPerCommand ?? MAX_EVENTS_PER_COMMAND);
  }

  private constructor(pool: Pool, eventsPerCommand: number) {
    this.#pool = pool;
    this.#writes = new BatchedWrites((writes) => this.#commit(writes, eventsPerCommand));
  }

  async close(): Promise<void> {
    await this.#writes.close();
    await this.#pool.end();
  }

  get groupCommitStats(): { batches: number; writes: number } {
    return this.#writes.stats;
  }

  async #transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      for (let attempt = 1; ; attempt += 1) {
        await client.query('BEGIN');
        try {
          const result = await work(client);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          if (attempt < 5 && RETRYABLE.has(String((error as { code?: unknown }).code))) continue;
          throw error;
        }
      }
    } finally {
      client.release();
    }
  }

  async #query(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.#pool.query(sql, params)).rows as Row[];
  }

  // ---- group commit ----

  async #commit(writes: StoreWrite[], eventsPerCommand: number): Promise<CommittedBatch<WriteResult>> {
    const results = await this.#transaction((client) => applyBatch(client, writes, eventsPerCommand));
    return { results, durable: Promise.resolve() };
  }

  // ---- keys ----

  async createKey(input: NewKey): Promise<IssuedKey> {
    const id = newKeyId();
    const { key, hash, prefix } = newKeySecret();
    const permissions = checkedPermissions(input.permissions ?? DEFAULT_PERMISSIONS);
    const labels = checkedLabels(input.labels);
    const rows = await this.#query("INSERT INTO keys (id, name, key_hash, key_prefix, permissions, labels, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'active', now()) RETURNING *", [
      id,
      input.name,
      hash,
      prefix,
      JSON.stringify(permissions),
      JSON.stringify(labels),
    ]);
    return { record: toKey(rows[0]!), key };
  }

  async listKeys(filter: { labels?: Labels } = {}): Promise<KeyRecord[]> {
    return (await this.#query('SELECT * FROM keys WHERE labels @> $1::jsonb ORDER BY created_at, id', [JSON.stringify(checkedLabels(filter.labels))])).map(toKey);
  }

  async getKey(id: string): Promise<KeyRecord | undefined> {
    const rows = await this.#query('SELECT * FROM keys WHERE id = $1', [id]);
    return rows[0] ? toKey(rows[0]) : undefined;
  }

  async findKeyBySecret(secret: string): Promise<KeyRecord | undefined> {
    const rows = await this.#query('SELECT * FROM keys WHERE key_hash = $1', [hashSecret(secret)]);
    return rows[0] ? toKey(rows[0]) : undefined;
  }

  async keyHash(id: string): Promise<string | undefined> {
    const rows = await this.#query('SELECT key_hash FROM keys WHERE id = $1', [id]);
    return rows[0] ? String(rows[0].key_hash) : undefined;
  }

  async updateKey(id: string, patch: KeyPatch): Promise<KeyRecord | undefined> {
    const rows = await this.#query(
      `UPDATE keys SET name = COALESCE($2, name), permissions = COALESCE($3::jsonb, permissions), status = COALESCE($4, status),
         labels = COALESCE($5::jsonb, labels) WHERE id = $1 RETURNING *`,
      [
        id,
        patch.name ?? null,
        patch.permissions === undefined ? null : JSON.stringify(checkedPermissions(patch.permissions)),
        patch.status ?? null,
        patch.labels === undefined ? null : JSON.stringify(checkedLabels(patch.labels)),
      ],
    );
    return rows[0] ? toKey(rows[0]) : undefined;
  }

  async deleteKey(id: string): Promise<boolean> {
    return (await this.#pool.query('DELETE FROM keys WHERE id = $1', [id])).rowCount! > 0;
  }

  async regenerateKey(id: string): Promise<IssuedKey | undefined> {
    const { key, hash, prefix } = newKeySecret();
    const rows = await this.#query('UPDATE keys SET key_hash = $2, key_prefix = $3 WHERE id = $1 RETURNING *', [id, hash, prefix]);
    return rows[0] ? { record: toKey(rows[0]), key } : undefined;
  }

  async touchKey(id: string): Promise<void> {
    await this.#query('UPDATE keys SET last_used_at = now() WHERE id = $1', [id]);
  }

  // ---- agents ----

  saveRegistration(registration: AgentRegistration): Promise<void> {
    return this.#writes.saveRegistration(registration);
  }

  saveHeartbeat(agentId: string, keyId: string, heartbeat: Record<string, unknown>): Promise<void> {
    return this.#writes.saveHeartbeat(agentId, keyId, heartbeat);
  }

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    const rows = await this.#query('SELECT * FROM agents WHERE agent_id = $1', [agentId]);
    return rows[0] ? toAgent(rows[0]) : undefined;
  }

  async countAgentsForKey(keyId: string): Promise<number> {
    return Number((await this.#query('SELECT count(*) AS n FROM agents WHERE key_id = $1', [keyId]))[0]!.n);
  }

  async listAgents(): Promise<AgentRecord[]> {
    return (await this.#query('SELECT * FROM agents ORDER BY key_id, last_seen, agent_id')).map(toAgent);
  }

  async latestAgentForKey(keyId: string): Promise<AgentRecord | undefined> {
    const rows = await this.#query('SELECT * FROM agents WHERE key_id = $1 ORDER BY last_seen DESC, agent_id DESC LIMIT 1', [keyId]);
    return rows[0] ? toAgent(rows[0]) : undefined;
  }

  async agentIdsByLastSeen(keyId: string): Promise<string[]> {
    return (await this.#query('SELECT agent_id FROM agents WHERE key_id = $1 ORDER BY last_seen, agent_id', [keyId])).map((row) => String(row.agent_id));
  }

  async deleteAgent(agentId: string): Promise<void> {
    await this.#query('DELETE FROM agents WHERE agent_id = $1', [agentId]);
    await this.#query('DELETE FROM heartbeat_points WHERE agent_id = $1', [agentId]);
  }

  // ---- the console: history, hosts, heartbeat ring, audit log (postgres/console-queries.ts) ----

  #boundQuery = (sql: string, params: unknown[] = []) => this.#query(sql, params);

  async listCommands(filter: CommandHistoryFilter): Promise<CommandRecord[]> {
    return consoleQueries.listCommands(this.#boundQuery, filter);
  }

  async recordHeartbeatPoint(agentId: string, keyId: string, point: HeartbeatPoint): Promise<void> {
    await consoleQueries.recordHeartbeatPoint(this.#boundQuery, agentId, keyId, point);
  }

  async heartbeatHistory(agentId: string, since: string): Promise<HeartbeatPoint[]> {
    return consoleQueries.heartbeatHistory(this.#boundQuery, agentId, since);
  }

  appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.#writes.appendAudit(entry);
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    return consoleQueries.listAudit(this.#boundQuery, filter);
  }

  async pruneAudit(before: Date): Promise<number> {
    return consoleQueries.pruneAudit(this.#boundQuery, before);
  }

  // ---- alerts (postgres/alert-queries.ts) ----

  openAlert(alert: NewAlert): Promise<AlertRecord | undefined> {
    return alertQueries.openAlert(this.#boundQuery, alert);
  }

  resolveAlert(incidentKey: string): Promise<AlertRecord | undefined> {
    return alertQueries.resolveAlert(this.#boundQuery, incidentKey);
  }

  listAlerts(filter: AlertFilter): Promise<AlertRecord[]> {
    return alertQueries.listAlerts(this.#boundQuery, filter);
  }

  recordAlertDelivery(incidentKey: string, sequence: number, event: 'alert' | 'recovery', delivery: AlertDelivery): Promise<void> {
    return alertQueries.recordAlertDelivery(this.#boundQuery, incidentKey, sequence, event, delivery);
  }

  // ---- staged rollouts (postgres/rollout-queries.ts) ----

  /** Runs rollout queries on one transaction's client. */
  #inTransaction<T>(work: (query: rolloutQueries.Query) => Promise<T>): Promise<T> {
    return this.#transaction((client) => work(async (sql, params = []) => (await client.query(sql, params)).rows as Row[]));
  }

  createRollout(input: NewRollout, hosts: readonly NewRolloutHost[]): Promise<RolloutRecord> {
    return this.#inTransaction((query) => rolloutQueries.createRollout(query, input, hosts));
  }

  getRollout(rolloutId: string): Promise<RolloutRecord | undefined> {
    return rolloutQueries.getRollout(this.#boundQuery, rolloutId);
  }

  listRollouts(limit: number): Promise<RolloutRecord[]> {
    return rolloutQueries.listRollouts(this.#boundQuery, limit);
  }

  listRolloutHosts(rolloutId: string): Promise<RolloutHost[]> {
    return rolloutQueries.listRolloutHosts(this.#boundQuery, rolloutId);
  }

  activeRolloutIds(): Promise<string[]> {
    return rolloutQueries.activeRolloutIds(this.#boundQuery);
  }

  startRolloutHosts(rolloutId: string, options: { keyIds: readonly string[]; limit: number }): Promise<CommandRecord[]> {
    return this.#inTransaction((query) => rolloutQueries.startRolloutHosts(query, rolloutId, options));
  }

  settleRolloutHost(rolloutId: string, keyId: string, change: RolloutHostChange): Promise<{ changed: boolean; halted: boolean }> {
    return this.#inTransaction((query) => rolloutQueries.settleRolloutHost(query, rolloutId, keyId, change));
  }

  transitionRollout(rolloutId: string, transition: RolloutTransition): Promise<RolloutRecord | undefined> {
    return this.#inTransaction((query) => rolloutQueries.transitionRollout(query, rolloutId, transition));
  }

  // ---- restore test results (postgres/verify-result-queries.ts) ----

  async putVerifyResult(record: VerifyResultRecord): Promise<void> {
    await verifyQueries.putVerifyResult(this.#boundQuery, record);
  }

  async getVerifyResult(keyId: string, artifactId: string): Promise<VerifyResultRecord | undefined> {
    return verifyQueries.getVerifyResult(this.#boundQuery, keyId, artifactId);
  }

  async listVerifyResults(keyId: string): Promise<VerifyResultRecord[]> {
    return verifyQueries.listVerifyResults(this.#boundQuery, keyId);
  }

  async deleteVerifyResult(keyId: string, artifactId: string): Promise<boolean> {
    return verifyQueries.deleteVerifyResult(this.#boundQuery, keyId, artifactId);
  }

  // ---- operator accounts (postgres/operator-queries.ts) ----

  async createOperator(input: { name: string; password_hash: string }): Promise<OperatorRecord | undefined> {
    return operatorQueries.createOperator(this.#boundQuery, input);
  }

  async listOperators(): Promise<OperatorRecord[]> {
    return operatorQueries.listOperators(this.#boundQuery);
  }

  async getOperator(name: string): Promise<OperatorCredentials | undefined> {
    return operatorQueries.getOperator(this.#boundQuery, name);
  }

  async updateOperator(name: string, patch: OperatorPatch): Promise<OperatorRecord | undefined> {
    return operatorQueries.updateOperator(this.#boundQuery, name, patch);
  }

  async deleteOperator(name: string): Promise<boolean> {
    return operatorQueries.deleteOperator(this.#boundQuery, name);
  }

  async touchOperator(name: string): Promise<void> {
    await operatorQueries.touchOperator(this.#boundQuery, name);
  }

  // ---- commands ----

  insertCommand(command: NewCommand, options?: WriteOptions): Promise<boolean> {
    return this.#writes.insertCommand(command, options);
  }

  async getCommand(commandId: string): Promise<CommandRecord | undefined> {
    const rows = await this.#query('SELECT * FROM commands WHERE command_id = $1', [commandId]);
    return rows[0] ? toCommand(rows[0]) : undefined;
  }

  async unanswered(keyId: string): Promise<CommandRecord[]> {
    return (await this.#query("SELECT * FROM commands WHERE key_id = $1 AND status IN ('queued', 'sent') ORDER BY seq", [keyId])).map(toCommand);
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

  async durable(): Promise<void> {
    // synchronous_commit is on: a committed batch is durable already.
  }

  // ---- events ----

  appendEvent(commandId: string, type: string, event: Record<string, unknown>): Promise<StoredEvent | undefined> {
    return this.#writes.appendEvent(commandId, type, event);
  }

  async listEventsAfter(commandId: string, afterId: number): Promise<StoredEvent[]> {
    return (await this.#query('SELECT * FROM job_events WHERE command_id = $1 AND id > $2 ORDER BY id', [commandId, afterId])).map(toEvent);
  }

  // ---- settings and identity ----

  async readSetting(name: string): Promise<string | undefined> {
    const rows = await this.#query('SELECT value FROM settings WHERE name = $1', [name]);
    return rows[0] ? String(rows[0].value) : undefined;
  }

  async writeSetting(name: string, value: string): Promise<void> {
    await this.#query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }

  async ensureSetting(name: string, value: string): Promise<string> {
    await this.#query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, value]);
    return (await this.readSetting(name))!;
  }

  async getSigningKey(): Promise<SigningKeyPair | undefined> {
    const rows = await this.#query('SELECT private_key_pem, public_key FROM signing_keys WHERE id = 1');
    return rows[0] ? { privateKeyPem: String(rows[0].private_key_pem), publicKey: String(rows[0].public_key) } : undefined;
  }

  async ensureSigningKey(candidate: SigningKeyPair): Promise<SigningKeyPair> {
    await this.#query('INSERT INTO signing_keys (id, private_key_pem, public_key, created_at) VALUES (1, $1, $2, now()) ON CONFLICT (id) DO NOTHING', [candidate.privateKeyPem, candidate.publicKey]);
    return (await this.getSigningKey())!;
  }

  // ---- releases ----

  async putRelease(release: Omit<ReleaseRecord, 'published_at'>, tarball: Uint8Array): Promise<ReleaseRecord> {
    return this.#transaction(async (client) => {
      const { rows } = await client.query(
        `INSERT INTO releases (version, platform, arch, sha256, size, key_id, tarball, manifest, signature, published_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
       ON CONFLICT (version, platform) DO UPDATE SET arch = excluded.arch, sha256 = excluded.sha256, size = excluded.size,
         key_id = excluded.key_id, tarball = excluded.tarball, manifest = excluded.manifest, signature = excluded.signature,
         published_at = excluded.published_at
       RETURNING *`,
        [release.version, release.platform, release.arch, release.sha256, release.size, release.key_id, release.tarball, release.manifest, release.signature],
      );
      await client.query('DELETE FROM release_chunks WHERE version = $1 AND platform = $2', [release.version, release.platform]);
      for (const [seq, bytes] of chunksOf(tarball)) {
        await client.query('INSERT INTO release_chunks (version, platform, seq, bytes) VALUES ($1, $2, $3, $4)', [release.version, release.platform, seq, bytes]);
      }
      return toRelease(rows[0]!);
    });
  }

  async releaseChunk(version: string, platform: string, index: number): Promise<Buffer | undefined> {
    const rows = await this.#query('SELECT bytes FROM release_chunks WHERE version = $1 AND platform = $2 AND seq = $3', [version, platform, index]);
    return rows[0] ? (rows[0].bytes as Buffer) : undefined;
  }

  async getRelease(version: string, platform: string): Promise<ReleaseRecord | undefined> {
    const rows = await this.#query('SELECT * FROM releases WHERE version = $1 AND platform = $2', [version, platform]);
    return rows[0] ? toRelease(rows[0]) : undefined;
  }

  async listReleases(platform?: string): Promise<ReleaseRecord[]> {
    const rows =
      platform === undefined
        ? await this.#query('SELECT * FROM releases ORDER BY published_at, version, platform')
        : await this.#query('SELECT * FROM releases WHERE platform = $1 ORDER BY published_at, version', [platform]);
    return rows.map(toRelease);
  }

  // ---- counters ----

  async hitCounter(name: string, windowMs: number, by = 1): Promise<CounterHit> {
    if (!(Number.isInteger(windowMs) && windowMs > 0)) throw new Error(`counter window must be a positive whole number of ms, not ${windowMs}`);
    const windowStart = Math.floor(Date.now() / windowMs) * windowMs;
    const rows = await this.#query(
      `INSERT INTO counters (name, window_start, window_ms, count) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name, window_start) DO UPDATE SET count = counters.count + excluded.count RETURNING count`,
      [name, windowStart, windowMs, by],
    );
    return { count: Number(rows[0]!.count), resets_at: new Date(windowStart + windowMs).toISOString() };
  }

  async pruneCounters(before: Date): Promise<number> {
    return (await this.#pool.query('DELETE FROM counters WHERE window_start + window_ms <= $1', [before.getTime()])).rowCount ?? 0;
  }

  // ---- fleet commands ----

  async resolveSelector(selector: KeySelector): Promise<string[]> {
    return resolve(this.#pool, keySelectorSchema.parse(selector));
  }

  async createBatch(input: NewBatch): Promise<{ batch: BatchRecord; targets: number }> {
    const selector = keySelectorSchema.parse(input.selector);
    checkConcurrency(input.concurrency);
    const batchId = randomUUID();
    return this.#transaction(async (client) => {
      const keyIds = await resolve(client, selector);
      const rows = (
        await client.query('INSERT INTO batches (batch_id, selector, command, data, concurrency, deadline, timeout_s, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now()) RETURNING *', [
          batchId,
          JSON.stringify(selector),
          input.command,
          JSON.stringify(input.data),
          input.concurrency,
          input.deadline,
          input.timeout_s,
        ])
      ).rows as Row[];
      await client.query("INSERT INTO batch_targets (batch_id, key_id, state, updated_at) SELECT $1, k, 'queued', now() FROM unnest($2::text[]) AS k", [batchId, keyIds]);
      return { batch: toBatch(rows[0]!), targets: keyIds.length };
    });
  }

  async getBatch(batchId: string): Promise<BatchRecord | undefined> {
    const rows = await this.#query('SELECT * FROM batches WHERE batch_id = $1', [batchId]);
    return rows[0] ? toBatch(rows[0]) : undefined;
  }

  async listBatchTargets(batchId: string, state?: BatchTargetState): Promise<BatchTarget[]> {
    const rows =
      state === undefined
        ? await this.#query('SELECT * FROM batch_targets WHERE batch_id = $1 ORDER BY key_id', [batchId])
        : await this.#query('SELECT * FROM batch_targets WHERE batch_id = $1 AND state = $2 ORDER BY key_id', [batchId, state]);
    return rows.map(toBatchTarget);
  }

  async startBatchTargets(batchId: string, options: { limit: number; onlineKeyIds?: string[] }): Promise<CommandRecord[]> {
    return this.#transaction(async (client) => {
      // The batch row lock serialises starters on every hub: the concurrency limit holds.
      const batchRows = (await client.query('SELECT * FROM batches WHERE batch_id = $1 FOR UPDATE', [batchId])).rows as Row[];
      if (!batchRows[0]) return [];
      const batch = toBatch(batchRows[0]);
      if (batch.deadline !== null && Date.parse(batch.deadline) <= Date.now()) return [];
      const running = Number((await client.query("SELECT count(*) AS n FROM batch_targets WHERE batch_id = $1 AND state = 'running'", [batchId])).rows[0].n);
      const room = Math.min(options.limit, batch.concurrency - running);
      if (room <= 0) return [];
      const candidates = (
        await client.query(
          `SELECT key_id FROM batch_targets WHERE batch_id = $1 AND state IN ('queued', 'offline') AND ($2::text[] IS NULL OR key_id = ANY($2))
           ORDER BY key_id LIMIT $3`,
          [batchId, options.onlineKeyIds ?? null, room],
        )
      ).rows.map((row: Row) => String(row.key_id));
      if (candidates.length === 0) return [];
      const commandIds = candidates.map(() => randomUUID());
      const rows = (
        await client.query(
          `INSERT INTO commands (command_id, key_id, command, data, status, created_at, deadline, timeout_s, batch_id)
           SELECT c, k, $3, $4::jsonb, 'queued', now(), $5::timestamptz, $6::float8, $7 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(c, k, ord) ORDER BY ord
           RETURNING *`,
          [commandIds, candidates, batch.command, JSON.stringify(batch.data), batch.deadline, batch.timeout_s, batchId],
        )
      ).rows as Row[];
      await client.query(
        `UPDATE batch_targets t SET state = 'running', command_id = u.c, updated_at = now()
         FROM unnest($2::text[], $3::text[]) AS u(k, c) WHERE t.batch_id = $1 AND t.key_id = u.k`,
        [batchId, candidates, commandIds],
      );
      return rows.map(toCommand).sort((a, b) => a.key_id.localeCompare(b.key_id));
    });
  }

  async markTargetsOffline(batchId: string, keyIds: string[]): Promise<number> {
    return (await this.#pool.query("UPDATE batch_targets SET state = 'offline', updated_at = now() WHERE batch_id = $1 AND state = 'queued' AND key_id = ANY($2)", [batchId, keyIds])).rowCount ?? 0;
  }

  async expireBatchTargets(batchId: string, now = new Date()): Promise<number> {
    return (
      (
        await this.#pool.query(
          `UPDATE batch_targets t SET state = 'expired', updated_at = $2 FROM batches b
         WHERE t.batch_id = $1 AND b.batch_id = t.batch_id AND t.state IN ('queued', 'offline') AND b.deadline IS NOT NULL AND b.deadline <= $2`,
          [batchId, now],
        )
      ).rowCount ?? 0
    );
  }

  async waitingBatchesForKey(keyId: string): Promise<string[]> {
    const rows = await this.#query(
      `SELECT t.batch_id FROM batch_targets t JOIN batches b ON b.batch_id = t.batch_id
       WHERE t.key_id = $1 AND t.state IN ('queued', 'offline') AND (b.deadline IS NULL OR b.deadline > now()) ORDER BY b.created_at`,
      [keyId],
    );
    return rows.map((row) => String(row.batch_id));
  }

  async batchSummary(batchId: string): Promise<BatchSummary | undefined> {
    if (!(await this.getBatch(batchId))) return undefined;
    return summarise(batchId, await this.#query('SELECT state, count(*) AS n FROM batch_targets WHERE batch_id = $1 GROUP BY state', [batchId]));
  }
}

async function resolve(client: Queryable, selector: KeySelector): Promise<string[]> {
  let rows: Row[];
  if ('all' in selector) rows = (await client.query("SELECT id FROM keys WHERE status = 'active' ORDER BY created_at, id")).rows;
  else if ('key_ids' in selector) rows = (await client.query("SELECT id FROM keys WHERE status = 'active' AND id = ANY($1) ORDER BY created_at, id", [selector.key_ids])).rows;
  else rows = (await client.query("SELECT id FROM keys WHERE status = 'active' AND labels @> $1::jsonb ORDER BY created_at, id", [JSON.stringify(checkedLabels(selector.labels))])).rows;
  return rows.map((row) => String(row.id));
}

/** Indexes of the first write per id; later writes of the same id in one batch lose to it. */
function firstPerId(indexes: number[], idOf: (index: number) => string): number[] {
  const seen = new Set<string>();
  return indexes.filter((index) => {
    const id = idOf(index);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Indexes of the last write per id (heartbeats, registrations: the newest counts). */
function lastPerId(indexes: number[], idOf: (index: number) => string): number[] {
  const last = new Map<string, number>();
  for (const index of indexes) last.set(idOf(index), index);
  return [...last.values()].sort((a, b) => idOf(a).localeCompare(idOf(b)));
}

/** One batch of writes in the open transaction: one statement per kind, results in write order. */
async function applyBatch(client: PoolClient, writes: StoreWrite[], eventsPerCommand: number): Promise<WriteResult[]> {
  // Writes that report whether they changed anything start at false; the rest at undefined.
  const results: WriteResult[] = writes.map((write) => (write.kind === 'insert_command' || write.kind === 'mark_expired' || write.kind === 'complete' ? false : undefined));
  const of = <K extends StoreWrite['kind']>(kind: K) => writes.flatMap((write, index) => (write.kind === kind ? [index] : []));
  const w = <K extends StoreWrite['kind']>(index: number) => writes[index] as Extract<StoreWrite, { kind: K }>;

  const inserts = firstPerId(of('insert_command'), (i) => w<'insert_command'>(i).command.command_id);
  if (inserts.length > 0) {
    const c = inserts.map((i) => w<'insert_command'>(i));
    const rows = (
      await client.query(
        `INSERT INTO commands (command_id, key_id, command, data, status, created_at, deadline, timeout_s)
         SELECT id, k, cmd, d::jsonb, 'queued', at, dl, t
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::float8[]) WITH ORDINALITY AS u(id, k, cmd, d, at, dl, t, ord)
         ORDER BY ord
         ON CONFLICT (command_id) DO NOTHING RETURNING command_id`,
        [
          c.map((x) => x.command.command_id),
          c.map((x) => x.command.key_id),
          c.map((x) => x.command.command),
          c.map((x) => JSON.stringify(x.command.data)),
          c.map((x) => x.at),
          c.map((x) => x.command.deadline),
          c.map((x) => x.command.timeout_s),
        ],
      )
    ).rows as Row[];
    const inserted = new Set(rows.map((row) => String(row.command_id)));
    for (const i of inserts) results[i] = inserted.has(w<'insert_command'>(i).command.command_id);
  }

  const sent = of('mark_sent');
  const expired = firstPerId(of('mark_expired'), (i) => w<'mark_expired'>(i).command_id);
  const completions = firstPerId(of('complete'), (i) => w<'complete'>(i).completion.command_id);
  const touched = [
    ...new Set([...sent.map((i) => w<'mark_sent'>(i).command_id), ...expired.map((i) => w<'mark_expired'>(i).command_id), ...completions.map((i) => w<'complete'>(i).completion.command_id)]),
  ];
  if (touched.length > 0) {
    // Lock in one order on every hub: concurrent batches queue behind each other instead of deadlocking.
    await client.query('SELECT 1 FROM commands WHERE command_id = ANY($1) ORDER BY command_id FOR UPDATE', [touched]);
  }
  if (sent.length > 0) {
    await client.query(
      `UPDATE commands c SET status = 'sent', sent_at = u.at, sent_via = u.via
       FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(id, via, at) WHERE c.command_id = u.id AND c.status IN ('queued', 'sent')`,
      [sent.map((i) => w<'mark_sent'>(i).command_id), sent.map((i) => w<'mark_sent'>(i).via), sent.map((i) => w<'mark_sent'>(i).at)],
    );
  }
  if (expired.length > 0) {
    const rows = (
      await client.query(
        `WITH e AS (
           UPDATE commands c SET status = 'expired', completed_at = u.at FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at)
           WHERE c.command_id = u.id AND c.status IN ('queued', 'sent') RETURNING c.command_id, u.at
         ), t AS (
           UPDATE batch_targets bt SET state = 'expired', updated_at = e.at FROM e WHERE bt.command_id = e.command_id AND bt.state = 'running'
         )
         SELECT command_id FROM e`,
        [expired.map((i) => w<'mark_expired'>(i).command_id), expired.map((i) => w<'mark_expired'>(i).at)],
      )
    ).rows as Row[];
    const done = new Set(rows.map((row) => String(row.command_id)));
    for (const i of expired) results[i] = done.has(w<'mark_expired'>(i).command_id);
  }
  if (completions.length > 0) {
    const c = completions.map((i) => w<'complete'>(i));
    const rows = (
      await client.query(
        `WITH done AS (
           UPDATE commands c SET status = u.status, completed_at = u.at, result = u.result::jsonb
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS u(id, k, status, result, at)
           WHERE c.command_id = u.id AND c.key_id = u.k AND c.result IS NULL RETURNING c.command_id, c.status, u.at
         ), t AS (
           UPDATE batch_targets bt SET state = CASE WHEN done.status = 'completed' THEN 'succeeded' ELSE 'failed' END, updated_at = done.at
           FROM done WHERE bt.command_id = done.command_id
         )
         SELECT command_id FROM done`,
        [
          c.map((x) => x.completion.command_id),
          c.map((x) => x.completion.key_id),
          c.map((x) => (x.completion.success ? 'completed' : 'failed')),
          c.map((x) => JSON.stringify(x.completion.result)),
          c.map((x) => x.at),
        ],
      )
    ).rows as Row[];
    const stored = new Set(rows.map((row) => String(row.command_id)));
    for (const i of completions) results[i] = stored.has(w<'complete'>(i).completion.command_id);
  }

  const events = of('event');
  if (events.length > 0) {
    const ids = [...new Set(events.map((i) => w<'event'>(i).command_id))];
    const room = new Map(
      ((await client.query('SELECT c.command_id, (SELECT count(*) FROM job_events e WHERE e.command_id = c.command_id) AS n FROM commands c WHERE c.command_id = ANY($1)', [ids])).rows as Row[]).map(
        (row) => [String(row.command_id), eventsPerCommand - Number(row.n)],
      ),
    );
    const accepted = events.filter((i) => {
      const left = room.get(w<'event'>(i).command_id) ?? 0;
      if (left <= 0) return false;
      room.set(w<'event'>(i).command_id, left - 1);
      return true;
    });
    if (accepted.length > 0) {
      const e = accepted.map((i) => w<'event'>(i));
      const rows = (
        await client.query(
          `INSERT INTO job_events (command_id, type, event, created_at)
           SELECT id, t, ev::jsonb, at FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS u(id, t, ev, at, ord) ORDER BY ord
           RETURNING id`,
          [e.map((x) => x.command_id), e.map((x) => x.type), e.map((x) => JSON.stringify(x.event)), e.map((x) => x.at)],
        )
      ).rows as Row[];
      // Identities are drawn in insertion order, which ORDER BY ord fixes: sorted ids match the writes.
      const newIds = rows.map((row) => Number(row.id)).sort((a, b) => a - b);
      accepted.forEach((i, n) => {
        const x = w<'event'>(i);
        results[i] = toEvent({ id: newIds[n], command_id: x.command_id, type: x.type, event: x.event, created_at: x.at });
      });
    }
  }

  const registrations = lastPerId(of('registration'), (i) => w<'registration'>(i).registration.agent_id);
  if (registrations.length > 0) {
    const r = registrations.map((i) => w<'registration'>(i));
    await client.query(
      `INSERT INTO agents (agent_id, key_id, hostname, version, os, transport, last_seen, register_data)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::jsonb[])
       ON CONFLICT (agent_id) DO UPDATE SET key_id = excluded.key_id, hostname = excluded.hostname, version = excluded.version, os = excluded.os,
         transport = excluded.transport, last_seen = excluded.last_seen, register_data = excluded.register_data`,
      [
        r.map((x) => x.registration.agent_id),
        r.map((x) => x.registration.key_id),
        r.map((x) => x.registration.hostname),
        r.map((x) => x.registration.version),
        r.map((x) => x.registration.os ?? null),
        r.map((x) => x.registration.transport),
        r.map((x) => x.at),
        r.map((x) => JSON.stringify(x.registration.data)),
      ],
    );
  }
  const audits = of('audit').map((i) => w<'audit'>(i));
  if (audits.length > 0) {
    await client.query(
      `INSERT INTO audit_log (at, actor, action, key_id, command_id, outcome, detail)
       SELECT at, actor, action, k, c, outcome, detail::jsonb
       FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS u(at, actor, action, k, c, outcome, detail, ord)
       ORDER BY ord`,
      [
        audits.map((x) => x.at),
        audits.map((x) => x.entry.actor),
        audits.map((x) => x.entry.action),
        audits.map((x) => x.entry.key_id),
        audits.map((x) => x.entry.command_id),
        audits.map((x) => x.entry.outcome),
        audits.map((x) => JSON.stringify(x.entry.detail)),
      ],
    );
  }
  const heartbeats = lastPerId(of('heartbeat'), (i) => w<'heartbeat'>(i).agent_id);
  if (heartbeats.length > 0) {
    const h = heartbeats.map((i) => w<'heartbeat'>(i));
    await client.query(
      `UPDATE agents a SET last_seen = u.at, last_heartbeat = u.hb FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[]) AS u(id, k, at, hb)
       WHERE a.agent_id = u.id AND a.key_id = u.k`,
      [h.map((x) => x.agent_id), h.map((x) => x.key_id), h.map((x) => x.at), h.map((x) => JSON.stringify(x.heartbeat))],
    );
  }
  return results;
}
