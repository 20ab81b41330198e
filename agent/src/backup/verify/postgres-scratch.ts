// Restore test for PostgreSQL: the dump goes into a throwaway database (tether_verify_<hex>) on
// the scratch server, which is then compared with the counts recorded at backup time and asked the
// target's check query. Owners and grants are restored as dumped, so a role the server lacks is a
// reported problem, not a hidden one. The database is dropped whatever happened.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { connection } from '../sources/postgres.ts';
import { runWithInput } from '../sources/child-process.ts';
import type { RestoreTestInput } from './outcome.ts';
import { compareRowCounts, judgeCheckQuery, message } from './outcome.ts';

export interface PostgresScratch {
  url?: string | undefined;
  password_env?: string | undefined;
  password_file?: string | undefined;
  psql: string;
  pg_restore: string;
}

const COUNT_TABLES = `select format('select %L || ''|'' || count(*) from %I.%I;', n.nspname || '.' || c.relname, n.nspname, c.relname)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%'
  order by 1 \\gexec
`;

export async function testPostgresRestore(
  options: RestoreTestInput & {
    scratch: PostgresScratch;
    format: 'plain' | 'custom';
  },
): Promise<void> {
  const { scratch, outcome, signal } = options;
  const conn = await connection(scratch);
  const database = `tether_verify_${randomBytes(6).toString('hex')}`;
  const psql = (db: string, sql: string, keepStdout = 4096) =>
    runWithInput([scratch.psql, '--no-password', '--no-psqlrc', '--quiet', '--tuples-only', '--no-align', '--set=ON_ERROR_STOP=1', `--dbname=${conn.dbnameFor(db)}`], Readable.from([sql]), {
      tool: 'postgres',
      env: conn.env,
      signal,
      keepStdout,
    });
  await psql('postgres', `create database "${database}";`);
  try {
    try {
      const argv =
        options.format === 'custom'
          ? [scratch.pg_restore, '--no-password', '--exit-on-error', `--dbname=${conn.dbnameFor(database)}`]
          : [scratch.psql, '--no-password', '--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--dbname=${conn.dbnameFor(database)}`];
      await runWithInput(argv, options.dump(), { tool: 'postgres', env: conn.env, signal });
      outcome.checked.push(`restored into a scratch PostgreSQL database (${options.format} dump)`);
    } catch (error) {
      outcome.problems.push(`restore into a scratch database failed: ${message(error)}`);
      return;
    }
    const counted = await psql(database, COUNT_TABLES, 64 << 20);
    const restored: Record<string, number> = {};
    for (const line of counted.split('\n')) {
      const bar = line.lastIndexOf('|');
      if (bar > 0) restored[line.slice(0, bar)] = Number(line.slice(bar + 1));
    }
    compareRowCounts(outcome, options.expected, restored);
    if (options.sql) {
      try {
        const answer = await psql(database, `${options.sql.replace(/;\s*$/, '')};\n`);
        judgeCheckQuery(outcome, options.sql, answer.split('\n')[0]?.split('|')[0]?.trim() || undefined);
      } catch (error) {
        outcome.problems.push(`check query failed: ${message(error)}`);
      }
    }
  } finally {
    // Not tied to `signal`: a cancelled test must still remove its database.
    await runWithInput(
      [scratch.psql, '--no-password', '--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--dbname=${conn.dbnameFor('postgres')}`],
      Readable.from([`drop database if exists "${database}" with (force);`]),
      { tool: 'postgres', env: conn.env },
    ).catch((error) => outcome.problems.push(`could not drop the scratch database ${database}: ${message(error)}`));
  }
}
