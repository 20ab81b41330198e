// Which hub holds each key's live session, as Redis strings with a TTL that heartbeats refresh:
// a hub that dies stops refreshing, so its agents show offline within one TTL (one heartbeat
// interval plus grace), never forever. SET … GET makes "claim and see who held it" one atomic
// step. Refresh and release compare the stored value first (the standard compare-and-expire /
// compare-and-delete scripts), so a hub never extends or deletes a newer session's entry.
import type { Redis } from 'ioredis';
import type { RedisLayout } from './redis-layout.ts';
import { parseMessage, presenceEntrySchema } from './cluster-messages.ts';
import type { PresenceEntry } from './cluster-messages.ts';

const REFRESH_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
/** SET … PX unless the key's live session is a WebSocket; returns {set (1/0), previous or false}. */
const CLAIM_UNLESS_SOCKET = `local previous = redis.call('GET', KEYS[1])
if previous and string.find(previous, '"transport":"websocket"', 1, true) then return {0, previous} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, previous}`;

type ScriptedRedis = Redis & {
  tetherRefreshIfOwner(key: string, value: string, ttlMs: number): Promise<number>;
  tetherReleaseIfOwner(key: string, value: string): Promise<number>;
  tetherClaimUnlessSocket(key: string, value: string, ttlMs: number): Promise<[number, string | null]>;
};

/** A claimed entry: the exact stored string is what proves ownership later. */
export interface PresenceClaim {
  entry: PresenceEntry;
  stored: string;
}

export class PresenceDirectory {
  readonly #redis: ScriptedRedis;
  readonly #layout: RedisLayout;

  constructor(redis: Redis, layout: RedisLayout) {
    if (!('tetherRefreshIfOwner' in redis)) {
      redis.defineCommand('tetherRefreshIfOwner', { numberOfKeys: 1, lua: REFRESH_IF_OWNER });
      redis.defineCommand('tetherReleaseIfOwner', { numberOfKeys: 1, lua: RELEASE_IF_OWNER });
      redis.defineCommand('tetherClaimUnlessSocket', { numberOfKeys: 1, lua: CLAIM_UNLESS_SOCKET });
    }
    this.#redis = redis as ScriptedRedis;
    this.#layout = layout;
  }

  /** Makes this session the key's live one; returns it and the entry it replaced, if any. */
  async claim(entry: PresenceEntry, ttlMs: number): Promise<{ claim: PresenceClaim; replaced: PresenceEntry | undefined }> {
    const stored = JSON.stringify(entry);
    const previous = await this.#redis.set(this.#layout.presence(entry.key_id), stored, 'PX', ttlMs, 'GET');
    const replaced = previous === null ? undefined : parseMessage(presenceEntrySchema, previous);
    return { claim: { entry, stored }, replaced: replaced && replaced.session_id !== entry.session_id ? replaced : undefined };
  }

  /**
   * Like claim, but leaves a WebSocket session in place (an HTTP-polling request that trails a
   * switch to WebSocket must not replace the socket). `claim` is undefined when it was left.
   */
  async claimUnlessSocket(entry: PresenceEntry, ttlMs: number): Promise<{ claim: PresenceClaim | undefined; replaced: PresenceEntry | undefined }> {
    const stored = JSON.stringify(entry);
    const [set, previous] = await this.#redis.tetherClaimUnlessSocket(this.#layout.presence(entry.key_id), stored, ttlMs);
    const replaced = previous === null || previous === undefined ? undefined : parseMessage(presenceEntrySchema, previous);
    if (set !== 1) return { claim: undefined, replaced: undefined };
    return { claim: { entry, stored }, replaced: replaced && replaced.session_id !== entry.session_id ? replaced : undefined };
  }

  /** Extends the TTL; false when the entry is gone or belongs to a newer session. */
  async refresh(claim: PresenceClaim, ttlMs: number): Promise<boolean> {
    return (await this.#redis.tetherRefreshIfOwner(this.#layout.presence(claim.entry.key_id), claim.stored, ttlMs)) === 1;
  }

  /** Removes the entry if it is still this claim's (a newer session's entry stays). */
  async release(claim: PresenceClaim): Promise<boolean> {
    return (await this.#redis.tetherReleaseIfOwner(this.#layout.presence(claim.entry.key_id), claim.stored)) === 1;
  }

  /** Removes an entry seen earlier as a raw stored string, if it is still exactly that. */
  async releaseStored(keyId: string, stored: string): Promise<boolean> {
    return (await this.#redis.tetherReleaseIfOwner(this.#layout.presence(keyId), stored)) === 1;
  }

  async lookup(keyId: string): Promise<{ entry: PresenceEntry; stored: string } | undefined> {
    const stored = await this.#redis.get(this.#layout.presence(keyId));
    if (stored === null) return undefined;
    const entry = parseMessage(presenceEntrySchema, stored);
    return entry ? { entry, stored } : undefined;
  }

  /** Entries of many keys at once (absent keys are left out). */
  async lookupMany(keyIds: string[]): Promise<Map<string, PresenceEntry>> {
    const found = new Map<string, PresenceEntry>();
    for (let start = 0; start < keyIds.length; start += 1000) {
      const chunk = keyIds.slice(start, start + 1000);
      const values = await this.#redis.mget(...chunk.map((keyId) => this.#layout.presence(keyId)));
      values.forEach((value, index) => {
        const entry = value === null ? undefined : parseMessage(presenceEntrySchema, value);
        if (entry) found.set(chunk[index]!, entry);
      });
    }
    return found;
  }

  /** Every live entry (for the connected-agents listing); SCAN, so Redis is never blocked. */
  async list(): Promise<PresenceEntry[]> {
    const entries: PresenceEntry[] = [];
    const stream = this.#redis.scanStream({ match: this.#layout.presencePattern, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>) {
      if (keys.length === 0) continue;
      for (const value of await this.#redis.mget(...keys)) {
        const entry = value === null ? undefined : parseMessage(presenceEntrySchema, value);
        if (entry) entries.push(entry);
      }
    }
    return entries;
  }
}
