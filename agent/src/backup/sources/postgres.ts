// PostgreSQL: pg_dump per database (plain SQL or custom format), restore with psql / pg_restore.
// The password goes in PGPASSWORD; the URL in argv never carries it.
import type { Readable } from 'node:stream';
import type { PostgresTarget } from '../config-schema.ts';
import type { BackupSource } from './source.ts';
import { concatenatedOutputs, programVersion, runWithInput } from './child-process.ts';
import { resolvePassword } from './password.ts';
import { PostgresRowCounter } from '../checks/postgres-row-counter.ts';

export interface Connection {
  /** --dbname value for a database, without any password. */
  dbnameFor(database: string): string;
  env: Record<string, string>;
}

/** How to reach a server: a --dbname builder and PGPASSWORD (never in argv). */
export async function connection(target: { url?: string | undefined; password_env?: string | undefined; password_file?: string | undefined }): Promise<Connection> {
  let base: URL | null = null;
  let urlPassword: string | undefined;
  if (target.url) {
    base = new URL(target.url);
    urlPassword = decodeURIComponent(base.password);
    base.password = '';
  }
  const password = await resolvePassword(target, urlPassword);
  return {
    dbnameFor(database) {
      if (!base) return database;
      const url = new URL(base.href);
      url.pathname = `/${encodeURIComponent(database)}`;
      return url.href;
    },
    env: password === undefined ? {} : { PGPASSWORD: password },
  };
}

export async function postgresSource(target: PostgresTarget, signal: AbortSignal): Promise<BackupSource> {
  const conn = await connection(target);
  const many = target.databases.length > 1;
  const argvs = target.databases.map((database) => [
    target.pg_dump,
    '--no-password',
    `--format=${target.format}`,
    // Several databases in one plain script: each recreates and connects to its own database.
    ...(many ? ['--create'] : []),
    `--dbname=${conn.dbnameFor(database)}`,
  ]);
  // Row counts for the restore test: read off the COPY blocks of a one-database plain script.
  const counter = !many && target.format === 'plain' ? new PostgresRowCounter() : null;
  return {
    ...(counter ? { checks: { row_counts: counter.counts }, inspector: counter } : {}),
    stream: concatenatedOutputs(argvs, { tool: 'postgres', env: conn.env, signal, stderrErrorsFail: true }),
    extension: target.format === 'custom' ? 'dump' : 'sql',
    toolVersions: programVersion(target.pg_dump).then((version) => ({ pg_dump: version })),
    cleanup: async () => {},
  };
}

export async function postgresRestore(target: PostgresTarget, input: Readable, signal: AbortSignal): Promise<string> {
  const conn = await connection(target);
  const many = target.databases.length > 1;
  // A multi-database script creates its databases itself, so it runs against the maintenance db.
  const database = many ? 'postgres' : (target.restore_database ?? target.databases[0]!);
  const argv =
    target.format === 'custom'
      ? [target.pg_restore, '--no-password', '--no-owner', '--exit-on-error', `--dbname=${conn.dbnameFor(database)}`]
      : [target.psql, '--no-password', '--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--dbname=${conn.dbnameFor(database)}`];
  await runWithInput(argv, input, { tool: 'postgres', env: conn.env, signal });
  return many ? target.databases.join(', ') : database;
}
