// `tether hub --redis` / TETHER_HUB_REDIS_URL and `--redis-prefix` / TETHER_HUB_REDIS_PREFIX,
// checked before anything starts. Redis is only for hubs sharing one PostgreSQL store.
import { z } from 'zod';

export const REDIS_ENV = 'TETHER_HUB_REDIS_URL';
export const REDIS_PREFIX_ENV = 'TETHER_HUB_REDIS_PREFIX';

const redisUrlSchema = z
  .string()
  .trim()
  .min(1, 'is empty; give redis://host:6379 (or rediss:// for TLS), or leave it out to run one hub alone')
  .refine((value) => URL.canParse(value) && /^rediss?:$/.test(new URL(value).protocol), 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0');

const prefixSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits or _ . : -, e.g. tether:');

export type RedisOption = { ok: true; url: string | undefined; prefix: string | undefined } | { ok: false; error: string };

export function parseRedisOptions(flags: { redis?: string; redisPrefix?: string }, env: NodeJS.ProcessEnv, engine: 'sqlite' | 'postgres'): RedisOption {
  const urlFrom = flags.redis !== undefined ? '--redis' : env[REDIS_ENV] !== undefined ? REDIS_ENV : undefined;
  const prefixFrom = flags.redisPrefix !== undefined ? '--redis-prefix' : env[REDIS_PREFIX_ENV] !== undefined ? REDIS_PREFIX_ENV : undefined;
  const rawUrl = flags.redis ?? env[REDIS_ENV];
  const rawPrefix = flags.redisPrefix ?? env[REDIS_PREFIX_ENV];
  if (urlFrom === undefined || rawUrl === undefined) {
    if (prefixFrom) return { ok: false, error: `${prefixFrom} needs --redis (or ${REDIS_ENV})` };
    return { ok: true, url: undefined, prefix: undefined };
  }
  const url = redisUrlSchema.safeParse(rawUrl);
  if (!url.success) return { ok: false, error: `${urlFrom} ${url.error.issues[0]!.message}` };
  if (engine !== 'postgres') {
    return { ok: false, error: `${urlFrom} is for hubs sharing one PostgreSQL store; give --database postgres://… too (hubs on separate SQLite files cannot share commands)` };
  }
  if (rawPrefix === undefined) return { ok: true, url: url.data, prefix: undefined };
  const prefix = prefixSchema.safeParse(rawPrefix);
  if (!prefix.success) return { ok: false, error: `${prefixFrom} ${prefix.error.issues[0]!.message}` };
  return { ok: true, url: url.data, prefix: prefix.data };
}
