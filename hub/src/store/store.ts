// The hub's storage interface: one async API over SQLite (embedded default) and PostgreSQL (many
// hubs). Writes on the command path (command inserts, sent/expired marks, results, job events,
// registrations, heartbeats) are group-committed: everything submitted while the previous batch
// commits goes into one transaction, and each call resolves once its batch is durable.
import type { CommandStatus, CommandView, KeyView } from '@tether/shared/protocol/admin-views.ts';
import type { AuditEntry } from '@tether/shared/protocol/audit-views.ts';
import type { ArtifactVerifyResult } from '@tether/shared/protocol/backup-views.ts';
import type { HeartbeatPoint } from '@tether/shared/protocol/host-views.ts';
import type { OperatorStatus, OperatorView } from '@tether/shared/protocol/operator-views.ts';
import type { KeySelector, Labels } from '@tether/shared/protocol/labels.ts';
import { TetherError } from '@tether/shared/errors.ts';
import type { AlertDelivery, AlertFilter, AlertRecord, NewAlert } from './alert-records.ts';
import type { NewRollout, NewRolloutHost, RolloutHost, RolloutHostChange, RolloutRecord, RolloutTransition } from './rollout-records.ts';

export type StoreEngine = 'sqlite' | 'postgres';

export interface KeyRecord extends KeyView {
  labels: Labels;
}

export interface IssuedKey {
  record: KeyRecord;
  /** The agent key in clear: returned to the operator once, never stored. */
  key: string;
}

export interface NewKey {
  name: string;
  permissions?: string[];
  labels?: Labels;
}

export interface KeyPatch {
  name?: string;
  permissions?: string[];
  status?: 'active' | 'disabled';
  /** Replaces the whole label set. */
  labels?: Labels;
}

export interface AgentRegistration {
  agent_id: string;
  key_id: string;
  hostname: string;
  version: string;
  os?: string | null;
  transport: string;
  data: Record<string, unknown>;
}

export interface AgentRecord {
  agent_id: string;
  key_id: string;
  hostname: string;
  version: string;
  os: string | null;
  transport: string;
  last_seen: string;
  register_data: Record<string, unknown>;
  last_heartbeat: Record<string, unknown> | null;
}

export interface NewCommand {
  command_id: string;
  key_id: string;
  command: string;
  data: Record<string, unknown>;
  deadline: string | null;
  timeout_s: number | null;
}

export interface CommandRecord extends CommandView {
  deadline: string | null;
  timeout_s: number | null;
  sent_via: string | null;
  /** The fleet command this belongs to, if any. */
  batch_id: string | null;
}

export interface CompleteCommand {
  command_id: string;
  /** Only the key the command was sent to may complete it. */
  key_id: string;
  result: Record<string, unknown>;
  success: boolean;
}

export interface StoredEvent {
  id: number;
  command_id: string;
  type: string;
  event: Record<string, unknown>;
  created_at: string;
}

/** Events kept per command by default (--max-events-per-command); a chatty job cannot fill the disk. */
export const MAX_EVENTS_PER_COMMAND = 2000;

/** Group-committed writes resolve once durable unless `durable: false` (then once committed). */
export interface WriteOptions {
  durable?: boolean;
}

/** What both engines take besides where the data is. */
export interface StoreTuning {
  /** Events kept per command (default MAX_EVENTS_PER_COMMAND). */
  eventsPerCommand?: number;
}

export interface SigningKeyPair {
  privateKeyPem: string;
  /** Raw Ed25519 public key, base64. */
  publicKey: string;
}

/** One published release for one platform (`tether hub publish`), as every hub serves it. */
export interface ReleaseRecord {
  version: string;
  platform: string;
  arch: string;
  /** SHA-256 and size of the tarball, from its manifest. */
  sha256: string;
  size: number;
  /** The release key that signed the manifest. */
  key_id: string;
  /** The tarball's file name; its bytes are in the store, in chunks (releaseChunk). */
  tarball: string;
  /** The manifest file's text: exactly the bytes the signature covers. */
  manifest: string;
  /** The signature file's text. */
  signature: string;
  published_at: string;
}

/** Release tarballs are stored and read in pieces of this size, never whole. */
export const RELEASE_CHUNK_BYTES = 1024 * 1024;

/** A tarball cut into [index, piece] pairs of RELEASE_CHUNK_BYTES (the last may be shorter). */
export function* chunksOf(bytes: Uint8Array): Generator<[number, Uint8Array]> {
  for (let seq = 0; seq * RELEASE_CHUNK_BYTES < bytes.length; seq += 1) yield [seq, bytes.subarray(seq * RELEASE_CHUNK_BYTES, (seq + 1) * RELEASE_CHUNK_BYTES)];
}

export interface CounterHit {
  /** Hits in the current window, this one included. */
  count: number;
  /** When the current window ends (ISO). */
  resets_at: string;
}

export type BatchTargetState = 'queued' | 'running' | 'succeeded' | 'failed' | 'offline' | 'expired';
export const BATCH_TARGET_STATES: readonly BatchTargetState[] = ['queued', 'running', 'succeeded', 'failed', 'offline', 'expired'];

export interface NewBatch {
  selector: KeySelector;
  command: string;
  data: Record<string, unknown>;
  /** How many targets may be running at once. */
  concurrency: number;
  /** After this, targets that have not started are expired (ISO), or null for none. */
  deadline: string | null;
  timeout_s: number | null;
}

export interface BatchRecord {
  batch_id: string;
  selector: KeySelector;
  command: string;
  data: Record<string, unknown>;
  concurrency: number;
  deadline: string | null;
  timeout_s: number | null;
  created_at: string;
}

export interface BatchTarget {
  batch_id: string;
  key_id: string;
  state: BatchTargetState;
  command_id: string | null;
  updated_at: string;
}

export interface BatchSummary {
  batch_id: string;
  total: number;
  counts: Record<BatchTargetState, number>;
  /** True when no target is queued, offline or running any more. */
  done: boolean;
}

/** Command history (GET /api/commands): every filter is optional; newest first, keyset-paginated. */
export interface CommandHistoryFilter {
  keyIds?: readonly string[];
  command?: string;
  statuses?: readonly CommandStatus[];
  /** On created_at, ISO times, inclusive. */
  since?: string;
  until?: string;
  /** Only commands after this one in the order (older): the last one of the previous page. */
  before?: { created_at: string; command_id: string };
  limit: number;
}

/** Slots in an agent's heartbeat ring: one a minute for 24 h. */
export const HEARTBEAT_RING_SLOTS = 1440;

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at'> & { at?: string };

export interface AuditFilter {
  keyId?: string;
  action?: string;
  since?: string;
  until?: string;
  /** Only entries older than this id (the last of the previous page). */
  beforeId?: number;
  limit: number;
}

/** The latest restore test of an artifact stored on the hub (or in S3 through it), by key and artifact id. */
export interface VerifyResultRecord extends ArtifactVerifyResult {
  key_id: string;
  artifact_id: string;
}

export type OperatorRecord = OperatorView;

/** An operator with the stored scrypt hash of its password (operators/password-hash.ts); never answered. */
export interface OperatorCredentials extends OperatorRecord {
  password_hash: string;
}

export interface OperatorPatch {
  status?: OperatorStatus;
  password_hash?: string;
}

export class StoreSchemaError extends TetherError {
  override name = 'StoreSchemaError';

  constructor(message: string) {
    super('TETHER_ERR_STORE_SCHEMA', message);
  }
}

export interface HubStore {
  readonly engine: StoreEngine;
  /** Flushes pending group commits, then closes connections. */
  close(): Promise<void>;
  /**
   * Resolves once every write committed before the call is on stable storage (SQLite: the next WAL
   * sync, shared by every caller waiting; PostgreSQL: at once, COMMIT is durable).
   */
  durable(): Promise<void>;

  // Keys: only a SHA-256 hash of each key is stored.
  createKey(input: NewKey): Promise<IssuedKey>;
  listKeys(filter?: { labels?: Labels }): Promise<KeyRecord[]>;
  getKey(id: string): Promise<KeyRecord | undefined>;
  /** The key a presented secret belongs to (looked up by its hash), with that hash. */
  findKeyBySecret(secret: string): Promise<KeyRecord | undefined>;
  /** The stored SHA-256 of a key (what scheme-2 signatures bind to); never leaves the hub. */
  keyHash(id: string): Promise<string | undefined>;
  updateKey(id: string, patch: KeyPatch): Promise<KeyRecord | undefined>;
  deleteKey(id: string): Promise<boolean>;
  regenerateKey(id: string): Promise<IssuedKey | undefined>;
  touchKey(id: string): Promise<void>;

  // Agents (registrations and heartbeats are group-committed).
  saveRegistration(registration: AgentRegistration): Promise<void>;
  /** Only the key the agent is registered under may update its row. */
  saveHeartbeat(agentId: string, keyId: string, heartbeat: Record<string, unknown>): Promise<void>;
  getAgent(agentId: string): Promise<AgentRecord | undefined>;
  countAgentsForKey(keyId: string): Promise<number>;
  /** Every agent row (with its last heartbeat), oldest key first. */
  listAgents(): Promise<AgentRecord[]>;
  /** The key's most recently seen agent (an HTTP-polling agent that registered on another hub). */
  latestAgentForKey(keyId: string): Promise<AgentRecord | undefined>;
  /** The key's agents, least recently seen first (to make room under the per-key quota). */
  agentIdsByLastSeen(keyId: string): Promise<string[]>;
  deleteAgent(agentId: string): Promise<void>;

  // Commands and results (group-committed writes).
  /** False when a command with this id exists already (nothing is changed then). */
  insertCommand(command: NewCommand, options?: WriteOptions): Promise<boolean>;
  getCommand(commandId: string): Promise<CommandRecord | undefined>;
  /** Commands of a key that still need delivering: queued, or sent and never answered, oldest first. */
  unanswered(keyId: string): Promise<CommandRecord[]>;
  markSent(commandId: string, via: string, options?: WriteOptions): Promise<void>;
  markExpired(commandId: string): Promise<boolean>;
  /** Stores the result unless one is stored already (first wins, across every hub on the store). */
  completeCommand(completion: CompleteCommand, options?: WriteOptions): Promise<boolean>;

  // Job events (group-committed appends).
  /** Undefined when the command is unknown or already has its cap of events. */
  appendEvent(commandId: string, type: string, event: Record<string, unknown>): Promise<StoredEvent | undefined>;
  listEventsAfter(commandId: string, afterId: number): Promise<StoredEvent[]>;

  // Settings (the admin token hash and other small values).
  readSetting(name: string): Promise<string | undefined>;
  writeSetting(name: string, value: string): Promise<void>;
  /** Stores the value unless the setting exists; returns the stored one (hubs racing at first start agree). */
  ensureSetting(name: string, value: string): Promise<string>;

  // The command-signing key pair, shared by every hub.
  getSigningKey(): Promise<SigningKeyPair | undefined>;
  /** Stores the candidate unless a pair exists; returns the stored pair. */
  ensureSigningKey(candidate: SigningKeyPair): Promise<SigningKeyPair>;

  // Releases: metadata, manifest and signature in the row, the tarball in chunks, so any hub on
  // a shared database serves any release.
  /** Publishes (or republishes) a release with its tarball's bytes, in one transaction. */
  putRelease(release: Omit<ReleaseRecord, 'published_at'>, tarball: Uint8Array): Promise<ReleaseRecord>;
  /** Piece `index` (0, 1, …) of a release's tarball, RELEASE_CHUNK_BYTES each; undefined past the end. */
  releaseChunk(version: string, platform: string, index: number): Promise<Buffer | undefined>;
  getRelease(version: string, platform: string): Promise<ReleaseRecord | undefined>;
  listReleases(platform?: string): Promise<ReleaseRecord[]>;

  // Fixed-window counters for rate limits and quotas, shared by every hub.
  hitCounter(name: string, windowMs: number, by?: number): Promise<CounterHit>;
  /** Drops windows that ended before `before`; returns how many. */
  pruneCounters(before: Date): Promise<number>;

  // Fleet commands.
  /** Key ids a selector addresses now (active keys only). */
  resolveSelector(selector: KeySelector): Promise<string[]>;
  /** Creates the batch with one queued target per selected key. */
  createBatch(input: NewBatch): Promise<{ batch: BatchRecord; targets: number }>;
  getBatch(batchId: string): Promise<BatchRecord | undefined>;
  listBatchTargets(batchId: string, state?: BatchTargetState): Promise<BatchTarget[]>;
  /**
   * Starts up to `limit` queued/offline targets (only those in `onlineKeyIds` when given) within
   * the batch's concurrency limit, atomically across hubs: creates their commands and marks them
   * running. Nothing starts after the deadline.
   */
  startBatchTargets(batchId: string, options: { limit: number; onlineKeyIds?: string[] }): Promise<CommandRecord[]>;
  /** Queued targets of these keys become offline (their agents are not connected). */
  markTargetsOffline(batchId: string, keyIds: string[]): Promise<number>;
  /** Queued and offline targets become expired once the deadline has passed; returns how many. */
  expireBatchTargets(batchId: string, now?: Date): Promise<number>;
  /** Batches with a target of this key still waiting (queued or offline) and not past their deadline. */
  waitingBatchesForKey(keyId: string): Promise<string[]>;
  batchSummary(batchId: string): Promise<BatchSummary | undefined>;

  // The operator's console: history, hosts, heartbeat history, audit log.
  listCommands(filter: CommandHistoryFilter): Promise<CommandRecord[]>;
  /** Writes the point into the agent's ring slot for its minute (so the ring never grows past HEARTBEAT_RING_SLOTS). */
  recordHeartbeatPoint(agentId: string, keyId: string, point: HeartbeatPoint): Promise<void>;
  /** The agent's points since that time, oldest first. */
  heartbeatHistory(agentId: string, since: string): Promise<HeartbeatPoint[]>;
  appendAudit(entry: NewAuditEntry): Promise<void>;
  /** Newest first. */
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;
  /** Drops entries older than `before`; returns how many. */
  pruneAudit(before: Date): Promise<number>;

  // Alerts (alert-records.ts; raised by hub/src/alerts/ on any hub, each sent by exactly one).
  /** Opens an incident unless it is firing already: the record when this call opened it, else undefined. */
  openAlert(alert: NewAlert): Promise<AlertRecord | undefined>;
  /** Resolves a firing incident: the record when this call resolved it, else undefined. */
  resolveAlert(incidentKey: string): Promise<AlertRecord | undefined>;
  /** Most recently changed first. */
  listAlerts(filter: AlertFilter): Promise<AlertRecord[]>;
  recordAlertDelivery(incidentKey: string, sequence: number, event: 'alert' | 'recovery', delivery: AlertDelivery): Promise<void>;

  // Staged rollouts (rollout-records.ts; driven by hub/src/rollouts/ on any hub).
  /** The rollout and its hosts, in the order given (position 0, 1, …). */
  createRollout(input: NewRollout, hosts: readonly NewRolloutHost[]): Promise<RolloutRecord>;
  getRollout(rolloutId: string): Promise<RolloutRecord | undefined>;
  /** Newest first. */
  listRollouts(limit: number): Promise<RolloutRecord[]>;
  /** In position order. */
  listRolloutHosts(rolloutId: string): Promise<RolloutHost[]>;
  /** Rollouts that need driving: running ones, and any with a host still updating. */
  activeRolloutIds(): Promise<string[]>;
  /**
   * Starts pending hosts of a running rollout (canaries only in the canary phase), only those in
   * `keyIds`, in position order, until `limit` are updating: atomically across hubs, creates their
   * `update` commands and marks them updating.
   */
  startRolloutHosts(rolloutId: string, options: { keyIds: readonly string[]; limit: number }): Promise<CommandRecord[]>;
  /** Changes one host's outcome if it is in `change.from`; a halting outcome halts a running rollout in the same transaction. */
  settleRolloutHost(rolloutId: string, keyId: string, change: RolloutHostChange): Promise<{ changed: boolean; halted: boolean }>;
  /** Changes the rollout's state if it is in `transition.from` (to `aborted`: pending hosts are skipped); undefined when it was not. */
  transitionRollout(rolloutId: string, transition: RolloutTransition): Promise<RolloutRecord | undefined>;

  // Restore test results of artifacts, the latest per artifact (every hub of a cluster sees them).
  /** Replaces the artifact's result, if any. */
  putVerifyResult(record: VerifyResultRecord): Promise<void>;
  getVerifyResult(keyId: string, artifactId: string): Promise<VerifyResultRecord | undefined>;
  listVerifyResults(keyId: string): Promise<VerifyResultRecord[]>;
  deleteVerifyResult(keyId: string, artifactId: string): Promise<boolean>;

  // Operator accounts of the console (passwords as scrypt hashes only).
  /** Undefined when an operator of that name exists already. */
  createOperator(input: { name: string; password_hash: string }): Promise<OperatorRecord | undefined>;
  listOperators(): Promise<OperatorRecord[]>;
  getOperator(name: string): Promise<OperatorCredentials | undefined>;
  updateOperator(name: string, patch: OperatorPatch): Promise<OperatorRecord | undefined>;
  deleteOperator(name: string): Promise<boolean>;
  /** Records a successful sign-in. */
  touchOperator(name: string): Promise<void>;
}

export type { AuditEntry, CommandStatus, HeartbeatPoint };
