// Where a key's live session is, as far as every hub is concerned. Alone, a hub knows only its own
// sessions (presence.ts). With --redis, each key's live session is also claimed in Redis
// (cluster.ts): a WebSocket once it registered, an HTTP-polling agent at each request (its session
// id is the same on every hub, so hubs it polls in turn do not replace each other). Commands for
// a key whose socket is on another hub are routed there; closing or re-granting a key reaches the
// hub that holds it; one live session per key across hubs (a newer one closes the older, 4008).
import type { Logger } from '@tether/shared/logger.ts';
import type { ConnectedAgentView } from '@tether/shared/protocol/admin-views.ts';
import type { AgentSession, Presence, Transport } from '../presence.ts';
import { CLOSE_REPLACED } from '../ws/close-codes.ts';
import { Cluster, redactRedisUrl } from './cluster.ts';
import type { RouteOutcome } from './cluster.ts';
import type { PresenceClaim } from './presence-directory.ts';
import type { BatchProgress, CommandUpdate } from './cluster-messages.ts';

/** What a clustered hub does for messages from other hubs (bound once the router exists). */
export interface DirectoryHooks {
  deliver(keyId: string, commandId: string): void;
  wake(keyId: string): void;
  closeKey(keyId: string, code: number, reason: string): void;
  pushGrant(keyId: string, permissions: string[]): void;
  cancel(keyId: string, commandId: string): void;
}

export interface SessionDirectory {
  readonly clustered: boolean;
  /** This hub's id in the cluster ("local" alone). */
  readonly hubId: string;
  /** Where the cluster is, for logs (no password). */
  describe(): string;
  bind(hooks: DirectoryHooks): void;
  /** A WebSocket session registered, or an HTTP-polling agent made a request. */
  opened(session: AgentSession): Promise<void>;
  /** A heartbeat of a WebSocket session; false when a newer session of the key took over elsewhere. */
  alive(session: AgentSession): Promise<boolean>;
  closed(session: AgentSession): void;
  /** A stored command for a key with no socket on this hub: to the hub that holds one, if any. */
  route(keyId: string, commandId: string): Promise<RouteOutcome>;
  isConnected(keyId: string): Promise<boolean>;
  connected(): Promise<ConnectedAgentView[]>;
  /** After this hub closed its own sessions of the key: the hub holding it elsewhere does too. */
  closeKey(keyId: string, code: number, reason: string): Promise<void>;
  pushGrant(keyId: string, permissions: readonly string[]): Promise<void>;
  /**
   * A cancel for a key with no session on this hub: to the hub holding its live session. The
   * transport of that session when its hub heard it; undefined when no other hub holds the key.
   */
  cancel(keyId: string, commandId: string): Promise<Transport | undefined>;
  /** Tells hubs waiting on a command that its result or a job event was stored here. */
  publish(update: CommandUpdate): void;
  /** Hears of a command's result and job events stored on other hubs; resolves once listening. */
  follow(commandId: string, listener: (update: CommandUpdate) => void): Promise<() => void>;
  /** Which of these keys have a live session on some hub (clustered only; alone, ask Presence). */
  onlineKeys(keyIds: string[]): Promise<Set<string>>;
  publishBatch(progress: BatchProgress): void;
  followBatch(batchId: string, listener: (progress: BatchProgress) => void): Promise<() => void>;
  close(): Promise<void>;
}

export interface ClusterDirectoryOptions {
  redisUrl: string;
  /** Key prefix in Redis (default "tether:"). */
  prefix?: string;
  /** Agents heartbeat this often; their presence lives one interval plus grace. */
  heartbeatIntervalS: number;
  presence: Presence;
  log: Logger;
}

/** Without a refresh, a presence entry lives one heartbeat plus this long. */
const GRACE_MS = 10_000;
/** An HTTP-polling agent may wait this long in a long poll between two requests (protocol.md 4). */
const LONGEST_POLL_MS = 30_000;

export class ClusterDirectory implements SessionDirectory {
  readonly clustered = true;
  readonly #cluster: Cluster;
  readonly #presence: Presence;
  readonly #log: Logger;
  readonly #httpTtlMs: number;
  readonly #claims = new Map<string, PresenceClaim>();
  readonly #url: string;
  /** Bound by the hub once its router exists. */
  hooks: DirectoryHooks | undefined;

  static async connect(options: ClusterDirectoryOptions): Promise<ClusterDirectory> {
    // Messages may arrive before the directory exists or its hooks are bound: they find nobody then.
    const late: { directory?: ClusterDirectory } = {};
    const hooks = () => late.directory?.hooks;
    const cluster = await Cluster.connect({
      url: options.redisUrl,
      prefix: options.prefix,
      presenceTtlMs: options.heartbeatIntervalS * 1000 + GRACE_MS,
      log: options.log,
      handlers: {
        deliver: (keyId, commandId) => hooks()?.deliver(keyId, commandId),
        closeSession: (keyId, sessionId) => late.directory?.closeLocal(keyId, sessionId),
        wake: (keyId) => hooks()?.wake(keyId),
        closeKey: (keyId, code, reason) => hooks()?.closeKey(keyId, code, reason),
        pushGrant: (keyId, permissions) => hooks()?.pushGrant(keyId, permissions),
        cancel: (keyId, commandId) => hooks()?.cancel(keyId, commandId),
      },
    });
    late.directory = new ClusterDirectory(cluster, options);
    return late.directory;
  }

  private constructor(cluster: Cluster, options: ClusterDirectoryOptions) {
    this.#cluster = cluster;
    this.#presence = options.presence;
    this.#log = options.log;
    this.#httpTtlMs = Math.max(options.heartbeatIntervalS * 1000, LONGEST_POLL_MS) + GRACE_MS;
    this.#url = options.redisUrl;
  }

  describe(): string {
    return redactRedisUrl(this.#url);
  }

  get hubId(): string {
    return this.#cluster.hubId;
  }

  bind(hooks: DirectoryHooks): void {
    this.hooks = hooks;
  }

  async opened(session: AgentSession): Promise<void> {
    const info = {
      key_id: session.keyId,
      session_id: session.sessionId,
      transport: session.transport,
      agent_id: session.agentId,
      hostname: session.hostname || undefined,
      version: session.version || undefined,
    };
    const claim = session.transport === 'websocket' ? await this.#cluster.sessionOpened(info) : await this.#cluster.sessionOpened(info, { unlessSocket: true, ttlMs: this.#httpTtlMs });
    if (claim) this.#claims.set(session.sessionId, claim);
  }

  async alive(session: AgentSession): Promise<boolean> {
    const claim = this.#claims.get(session.sessionId);
    if (!claim) {
      await this.opened(session);
      return true;
    }
    if (await this.#cluster.sessionAlive(claim)) return true;
    // Gone (expired, or Redis lost it) is not lost: claim it again. Held by another session: lost.
    const holder = await this.#cluster.presenceOf(session.keyId);
    if (holder === undefined) {
      await this.opened(session);
      return true;
    }
    return holder.session_id === session.sessionId;
  }

  closed(session: AgentSession): void {
    const claim = this.#claims.get(session.sessionId);
    if (!claim) return;
    this.#claims.delete(session.sessionId);
    this.#cluster.sessionClosed(claim).catch((error: unknown) => this.#log.warn({ err: (error as Error).message, key_id: session.keyId }, 'could not release a presence entry; it expires by itself'));
  }

  route(keyId: string, commandId: string): Promise<RouteOutcome> {
    return this.#cluster.route(keyId, commandId);
  }

  async isConnected(keyId: string): Promise<boolean> {
    return this.#presence.isConnected(keyId) || (await this.#cluster.presenceOf(keyId)) !== undefined;
  }

  /** Every hub's live sessions; this hub's own with what only it knows (metrics, heartbeats). */
  async connected(): Promise<ConnectedAgentView[]> {
    const local = new Map(this.#presence.view().map((view) => [view.key_id, view]));
    const views: ConnectedAgentView[] = [];
    for (const entry of await this.#cluster.connected()) {
      const mine = local.get(entry.key_id);
      if (mine && entry.hub_id === this.#cluster.hubId) {
        views.push({ ...mine, hub_id: entry.hub_id });
        continue;
      }
      views.push({
        key_id: entry.key_id,
        agent_id: entry.agent_id ?? '',
        hostname: entry.hostname ?? '',
        version: entry.version ?? '',
        transport: entry.transport,
        protocol: null,
        connected_since: entry.since,
        last_heartbeat: null,
        metrics: null,
        hub_id: entry.hub_id,
      });
    }
    return views;
  }

  async closeKey(keyId: string, code: number, reason: string): Promise<void> {
    await this.#cluster.tellHolder(keyId, { type: 'close_key', code, reason });
  }

  async pushGrant(keyId: string, permissions: readonly string[]): Promise<void> {
    await this.#cluster.tellHolder(keyId, { type: 'push_grant', permissions: [...permissions] });
  }

  async cancel(keyId: string, commandId: string): Promise<Transport | undefined> {
    return (await this.#cluster.tellHolder(keyId, { type: 'cancel', command_id: commandId }))?.transport;
  }

  publish(update: CommandUpdate): void {
    this.#cluster
      .publishCommandUpdate(update)
      .catch((error: unknown) =>
        this.#log.warn({ command_id: update.command_id, err: (error as Error).message }, 'could not tell other hubs about a command; their waits read the store when they time out'),
      );
  }

  async follow(commandId: string, listener: (update: CommandUpdate) => void): Promise<() => void> {
    const stop = await this.#cluster.followCommand(commandId, listener);
    return () => void stop().catch(() => {});
  }

  onlineKeys(keyIds: string[]): Promise<Set<string>> {
    return this.#cluster.onlineKeys(keyIds);
  }

  publishBatch(progress: BatchProgress): void {
    this.#cluster.publishBatchProgress(progress).catch((error: unknown) => this.#log.warn({ batch_id: progress.batch_id, err: (error as Error).message }, 'could not publish fleet progress'));
  }

  async followBatch(batchId: string, listener: (progress: BatchProgress) => void): Promise<() => void> {
    const stop = await this.#cluster.followBatch(batchId, listener);
    return () => void stop().catch(() => {});
  }

  async close(): Promise<void> {
    this.#claims.clear();
    await this.#cluster.close();
  }

  /** A newer session of the key opened (here or on another hub): this one goes, with 4008. */
  closeLocal(keyId: string, sessionId: string): void {
    for (const session of this.#presence.forKey(keyId)) {
      if (session.sessionId !== sessionId) continue;
      this.#log.info({ key_id: keyId, session_id: sessionId }, 'a newer session of the key opened on some hub; closing this one with 4008');
      this.#claims.delete(sessionId);
      session.close(CLOSE_REPLACED, 'replaced by a newer session of the same agent key');
      this.#presence.remove(sessionId);
    }
  }
}
