// Restore test for MariaDB / MySQL: the dump goes into a throwaway database (tether_verify_<hex>)
// through the client in --sandbox mode (a dump cannot run \! or read files), then row counts and
// the check query are compared. The database is dropped whatever happened.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { optionFile } from '../sources/mysql.ts';
import type { MysqlConnection } from '../sources/mysql.ts';
import { runWithInput } from '../sources/child-process.ts';
import type { RestoreTestInput } from './outcome.ts';
import { compareRowCounts, judgeCheckQuery, message } from './outcome.ts';

export type MysqlScratch = MysqlConnection & { client: string };

const quoteName = (name: string) => `\`${name.replace(/`/g, '``')}\``;

export async function testMysqlRestore(
  options: RestoreTestInput & {
    scratch: MysqlScratch;
  },
): Promise<void> {
  const { scratch, outcome, signal } = options;
  const file = await optionFile(scratch);
  const database = `tether_verify_${randomBytes(6).toString('hex')}`;
  const client = (sql: string | Readable, db?: string, keepStdout = 4096) =>
    runWithInput(
      [scratch.client, `--defaults-extra-file=${file.path}`, '--batch', '--skip-column-names', '--sandbox', ...(db ? [`--database=${db}`] : [])],
      typeof sql === 'string' ? Readable.from([sql]) : sql,
      { tool: 'mysql', signal, keepStdout },
    );
  try {
    await client(`create database ${quoteName(database)};`);
    try {
      try {
        await client(options.dump(), database);
        outcome.checked.push('restored into a scratch MariaDB database');
      } catch (error) {
        outcome.problems.push(`restore into a scratch database failed: ${message(error)}`);
        return;
      }
      const tables = (await client(`select table_name from information_schema.tables where table_schema = database() and table_type = 'BASE TABLE' order by 1;`, database, 16 << 20))
        .split('\n')
        .filter(Boolean);
      const restored: Record<string, number> = {};
      if (tables.length > 0) {
        const query = tables.map((table) => `select ${JSON.stringify(table)}, count(*) from ${quoteName(table)}`).join(' union all ');
        for (const line of (await client(`${query};`, database, 16 << 20)).split('\n')) {
          const tab = line.lastIndexOf('\t');
          if (tab > 0) restored[line.slice(0, tab)] = Number(line.slice(tab + 1));
        }
      }
      compareRowCounts(outcome, options.expected, restored);
      if (options.sql) {
        try {
          const answer = await client(`${options.sql.replace(/;\s*$/, '')};`, database);
          judgeCheckQuery(outcome, options.sql, answer.split('\n')[0]?.split('\t')[0]?.trim() || undefined);
        } catch (error) {
          outcome.problems.push(`check query failed: ${message(error)}`);
        }
      }
    } finally {
      await runWithInput([scratch.client, `--defaults-extra-file=${file.path}`, '--batch'], Readable.from([`drop database if exists ${quoteName(database)};`]), { tool: 'mysql' }).catch((error) =>
        outcome.problems.push(`could not drop the scratch database ${database}: ${message(error)}`),
      );
    }
  } finally {
    await file.remove();
  }
}
