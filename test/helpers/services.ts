// The machine's PostgreSQL and Redis for tests and benchmarks: a throwaway database per run
// (CREATE DATABASE tether_test_<random>, dropped after) and a key prefix per test. A missing
// server skips with one loud line, or fails when TETHER_REQUIRE_SERVICES=1 (CI).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';

export function pgAdminUrl(): string {
  return process.env.TETHER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function redisUrl(): string {
  return process.env.TETHER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

export function requireServices(): boolean {
  return process.env.TETHER_REQUIRE_SERVICES === '1';
}

/** Why the server cannot be used, or undefined when it answers. */
export async function postgresProblem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: pgAdminUrl(), connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${pgAdminUrl()} is not reachable (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function redisProblem(): Promise<string | undefined> {
  const client = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `Redis at ${redisUrl()} is not reachable (${(error as Error).message})`;
  } finally {
    client.disconnect();
  }
}

/**
 * Undefined when the service is there; otherwise the line to skip with (printed once, loudly),
 * or a thrown error under TETHER_REQUIRE_SERVICES=1.
 */
export function skipOrFail(problem: string | undefined, install: string): string | undefined {
  if (problem === undefined) return undefined;
  if (requireServices()) throw new Error(`${problem}, and TETHER_REQUIRE_SERVICES=1 says it is required: ${install}, or point TETHER_TEST_PG_URL / TETHER_TEST_REDIS_URL at one`);
  const line = `SKIP: ${problem}; ${install}, set TETHER_TEST_PG_URL / TETHER_TEST_REDIS_URL, or set TETHER_REQUIRE_SERVICES=1 to fail instead`;
  process.stderr.write(`\n*** ${line} ***\n\n`);
  return line;
}

export interface ThrowawayDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createThrowawayDatabase(): Promise<ThrowawayDatabase> {
  const name = `tether_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(pgAdminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: pgAdminUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A key prefix no other test uses; `clean()` deletes every key under it. */
export function redisTestPrefix(): { prefix: string; clean(client: Redis): Promise<void> } {
  const prefix = `tether-test:${randomBytes(6).toString('hex')}:`;
  return {
    prefix,
    async clean(client) {
      for await (const keys of client.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) {
        if (keys.length > 0) await client.del(...keys);
      }
    },
  };
}
