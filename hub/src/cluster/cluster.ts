// A hub's membership in a group of hubs sharing one Redis: presence of the sessions it holds,
// one live session per key across hubs, routing a command to the hub holding the key's socket,
// wake-ups for HTTP long polls on any hub, and fleet progress for SSE on any hub.
// No consensus of our own: Redis keys with TTLs and pub/sub only; the store stays the truth.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '@tether/shared/logger.ts';
import { redisLayout } from './redis-layout.ts';
import type { RedisLayout } from './redis-layout.ts';
import { PresenceDirectory } from './presence-directory.ts';
import type { PresenceClaim } from './presence-directory.ts';
import { MessageBus } from './message-bus.ts';
import type { BatchProgress, CommandUpdate, PresenceEntry } from './cluster-messages.ts';

export interface ClusterHandlers {
  /** Send this stored command over the local socket of the key, if there still is one. */
  deliver(keyId: string, commandId: string): void;
  /** Close the local session (close 4008): a newer one of the same key opened elsewhere. */
  closeSession(keyId: string, sessionId: string): void;
  /** The key has new work: answer its long poll if this hub holds it. */
  wake(keyId: string): void;
  /** The key was deleted, disabled or regenerated elsewhere: close its local sessions. */
  closeKey(keyId: string, code: number, reason: string): void;
  /** The key's grant changed elsewhere: push it to its local sessions. */
  pushGrant(keyId: string, permissions: string[]): void;
  /** A command was cancelled elsewhere: send the cancel to the key's local session. */
  cancel(keyId: string, commandId: string): void;
}

export interface ClusterOptions {
  /** redis://[user:password@]host:port[/db] */
  url: string;
  /** Key and channel prefix (default "tether:"); tests use their own. */
  prefix?: string;
  hubId?: string;
  /** How long a presence entry lives without a refresh: one heartbeat interval plus grace. */
  presenceTtlMs: number;
  log: Logger;
  handlers: ClusterHandlers;
}

export type RouteOutcome = 'sent' | 'polling' | 'offline';

export interface SessionInfo {
  key_id: string;
  session_id: string;
  transport: PresenceEntry['transport'];
  agent_id: string | null;
  hostname?: string;
  version?: string;
}

/** The URL without its password, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable Redis URL)';
  }
}

async function connectRedis(url: string, role: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, connectionName: `tether-hub-${role}` });
  // Errors while connected are retried by ioredis; without a listener they would crash the hub.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new Error(`cannot reach Redis at ${redactRedisUrl(url)} (${(error as Error).message}); check --redis / TETHER_HUB_REDIS_URL and that Redis is running`);
  }
  return client;
}

export class Cluster {
  readonly hubId: string;
  readonly layout: RedisLayout;
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #directory: PresenceDirectory;
  readonly #bus: MessageBus;
  readonly #ttlMs: number;
  readonly #log: Logger;
  /** Claims of the sessions this hub holds, by session id (released on a clean shutdown). */
  readonly #claims = new Map<string, PresenceClaim>();

  static async connect(options: ClusterOptions): Promise<Cluster> {
    const commands = await connectRedis(options.url, 'commands');
    let subscriber: Redis;
    try {
      subscriber = await connectRedis(options.url, 'subscriber');
    } catch (error) {
      commands.disconnect();
      throw error;
    }
    const cluster = new Cluster(commands, subscriber, options);
    await cluster.#bus.start({
      onHubMessage: (message) => {
        if (message.type === 'deliver') options.handlers.deliver(message.key_id, message.command_id);
        else if (message.type === 'close_session') options.handlers.closeSession(message.key_id, message.session_id);
        else if (message.type === 'close_key') options.handlers.closeKey(message.key_id, message.code, message.reason);
        else if (message.type === 'push_grant') options.handlers.pushGrant(message.key_id, message.permissions);
        else options.handlers.cancel(message.key_id, message.command_id);
      },
      onWake: (keyId) => options.handlers.wake(keyId),
    });
    return cluster;
  }

  private constructor(commands: Redis, subscriber: Redis, options: ClusterOptions) {
    if (!(Number.isInteger(options.presenceTtlMs) && options.presenceTtlMs >= 100)) throw new Error(`presenceTtlMs must be a whole number of ms ≥ 100, not ${options.presenceTtlMs}`);
    this.hubId = options.hubId ?? randomUUID();
    this.layout = redisLayout(options.prefix);
    this.#commands = commands;
    this.#subscriber = subscriber;
    this.#ttlMs = options.presenceTtlMs;
    this.#log = options.log.child({ hub_id: this.hubId });
    this.#directory = new PresenceDirectory(commands, this.layout);
    this.#bus = new MessageBus({ publisher: commands, subscriber, layout: this.layout, hubId: this.hubId, log: this.#log });
  }

  /**
   * This session becomes the key's live one; the hub holding the previous one is told to close it.
   * With `unlessSocket`, a live WebSocket session of the key is left in place (undefined then).
   * `ttlMs` overrides the presence TTL (HTTP polls may be further apart than heartbeats).
   */
  async sessionOpened(session: SessionInfo): Promise<PresenceClaim>;
  async sessionOpened(session: SessionInfo, options: { unlessSocket?: boolean; ttlMs?: number }): Promise<PresenceClaim | undefined>;
  async sessionOpened(session: SessionInfo, options: { unlessSocket?: boolean; ttlMs?: number } = {}): Promise<PresenceClaim | undefined> {
    const entry: PresenceEntry = { ...session, hub_id: this.hubId, since: new Date().toISOString() };
    const ttlMs = options.ttlMs ?? this.#ttlMs;
    const { claim, replaced } = options.unlessSocket ? await this.#directory.claimUnlessSocket(entry, ttlMs) : await this.#directory.claim(entry, ttlMs);
    if (!claim) return undefined;
    this.#claims.set(session.session_id, claim);
    if (replaced) {
      const heard = await this.#bus.sendToHub(replaced.hub_id, { type: 'close_session', key_id: replaced.key_id, session_id: replaced.session_id, from_hub: this.hubId });
      this.#log.info({ key_id: session.key_id, old_hub: replaced.hub_id, old_session: replaced.session_id, heard }, "a newer session replaced the key's live session");
    }
    return claim;
  }

  /**
   * A heartbeat (or poll) of the session: extends its presence. False when another session of
   * the key took over; the caller closes this one then.
   */
  async sessionAlive(claim: PresenceClaim, ttlMs = this.#ttlMs): Promise<boolean> {
    return this.#directory.refresh(claim, ttlMs);
  }

  async sessionClosed(claim: PresenceClaim): Promise<void> {
    this.#claims.delete(claim.entry.session_id);
    await this.#directory.release(claim);
  }

  /**
   * Gets a stored command to the agent: the hub holding its socket sends it; a polling agent's
   * hubs are woken. 'offline' when no hub holds the key (the command waits in the store for
   * the agent's next registration).
   */
  async route(keyId: string, commandId: string): Promise<RouteOutcome> {
    const found = await this.#directory.lookup(keyId);
    if (!found) return 'offline';
    if (found.entry.transport === 'http_polling') {
      await this.#bus.wake(keyId);
      return 'polling';
    }
    const heard = await this.#bus.sendToHub(found.entry.hub_id, { type: 'deliver', key_id: keyId, command_id: commandId, from_hub: this.hubId });
    if (heard > 0) return 'sent';
    // Nobody listens on that hub's inbox: it died. Its entry is stale; drop it now, not at TTL.
    await this.#directory.releaseStored(keyId, found.stored);
    this.#log.info({ key_id: keyId, dead_hub: found.entry.hub_id }, 'the hub holding the key is gone; its presence entry was dropped');
    return 'offline';
  }

  async wake(keyId: string): Promise<void> {
    await this.#bus.wake(keyId);
  }

  /**
   * Tells the hub holding the key's live session, when that is another hub, to close, re-grant or
   * cancel there. The holder's presence entry when its hub heard it; undefined otherwise.
   */
  async tellHolder(
    keyId: string,
    message: { type: 'close_key'; code: number; reason: string } | { type: 'push_grant'; permissions: string[] } | { type: 'cancel'; command_id: string },
  ): Promise<PresenceEntry | undefined> {
    const found = await this.#directory.lookup(keyId);
    if (!found || found.entry.hub_id === this.hubId) return undefined;
    return (await this.#bus.sendToHub(found.entry.hub_id, { ...message, key_id: keyId, from_hub: this.hubId })) > 0 ? found.entry : undefined;
  }

  async presenceOf(keyId: string): Promise<PresenceEntry | undefined> {
    return (await this.#directory.lookup(keyId))?.entry;
  }

  /** Which of these keys have a live session on some hub. */
  async onlineKeys(keyIds: string[]): Promise<Set<string>> {
    return new Set((await this.#directory.lookupMany(keyIds)).keys());
  }

  /** Every live session on every hub. */
  async connected(): Promise<PresenceEntry[]> {
    return this.#directory.list();
  }

  async publishBatchProgress(progress: BatchProgress): Promise<void> {
    await this.#bus.publishBatchProgress(progress);
  }

  /** Tells hubs waiting on the command (a result stored, a job event stored). */
  async publishCommandUpdate(update: CommandUpdate): Promise<void> {
    await this.#bus.publishCommandUpdate(update);
  }

  followCommand(commandId: string, listener: (update: CommandUpdate) => void): Promise<() => Promise<void>> {
    return this.#bus.followCommand(commandId, listener);
  }

  followBatch(batchId: string, listener: (progress: BatchProgress) => void): Promise<() => Promise<void>> {
    return this.#bus.followBatch(batchId, listener);
  }

  /** A clean shutdown: this hub's sessions stop counting as present at once, not at TTL. */
  async close(): Promise<void> {
    const claims = [...this.#claims.values()];
    this.#claims.clear();
    await Promise.allSettled(claims.map((claim) => this.#directory.release(claim)));
    this.#subscriber.disconnect();
    await this.#commands.quit().catch(() => this.#commands.disconnect());
  }
}
