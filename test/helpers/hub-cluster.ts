// Hubs of one cluster for a test file: a throwaway PostgreSQL database and a Redis key prefix of
// their own (dropped after the file's tests), hub processes that share them and one admin token,
// and cleanups run in reverse order at the end. Registers the file's before/after hooks.
import { before, after } from 'node:test';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startHub, tempDir } from './system.ts';
import type { HubHandle } from './system.ts';
import { createThrowawayDatabase, redisTestPrefix, redisUrl } from './services.ts';

export interface HubCluster {
  /** A path inside the file's temp dir. */
  path(name: string): string;
  /** The cluster's PostgreSQL database (what a CLI command acting on its store is given). */
  databaseUrl(): string;
  /** Runs at the end, newest first. */
  onCleanup(cleanup: () => Promise<unknown>): void;
  /** A hub of the cluster (on `port`, or any); the first writes the admin token, the others get it. */
  hub(name: string, port?: number): Promise<HubHandle>;
}

export function hubCluster(name: string, options: { skip: string | undefined; hubArgs: string[] }): HubCluster {
  let dir: { path: string; remove(): Promise<void> };
  let database: { url: string; drop(): Promise<void> } | undefined;
  let prefix: string;
  let cleanRedis: (client: Redis) => Promise<void>;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async () => {
    if (options.skip) return;
    dir = await tempDir(name);
    database = await createThrowawayDatabase();
    ({ prefix, clean: cleanRedis } = redisTestPrefix());
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    if (options.skip) return;
    const redis = new Redis(redisUrl());
    await cleanRedis(redis).catch(() => undefined);
    redis.disconnect();
    await database?.drop();
    await dir.remove();
  });

  return {
    path: (inner) => join(dir.path, inner),
    databaseUrl: () => database!.url,
    onCleanup: (cleanup) => void cleanups.push(cleanup),
    async hub(hubName, port) {
      const dataDir = join(dir.path, hubName);
      const first = join(dir.path, 'first-admin-token');
      if (existsSync(first)) {
        mkdirSync(dataDir, { recursive: true, mode: 0o700 });
        copyFileSync(first, join(dataDir, 'admin-token'));
      }
      const hub = await startHub({ dataDir, port, args: ['--database', database!.url, '--redis', redisUrl(), '--redis-prefix', prefix, ...options.hubArgs] });
      if (!existsSync(first)) copyFileSync(join(dataDir, 'admin-token'), first);
      cleanups.push(() => hub.stop());
      return hub;
    },
  };
}
