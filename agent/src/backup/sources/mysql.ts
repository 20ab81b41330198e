// MySQL / MariaDB: mysqldump or mariadb-dump --single-transaction. Credentials go in an option
// file (0600, in a private 0700 directory) passed with --defaults-extra-file and removed afterwards.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { MysqlTarget } from '../config-schema.ts';
import type { BackupSource } from './source.ts';
import { programOutput, programVersion, runWithInput } from './child-process.ts';
import { resolvePassword } from './password.ts';
import { MysqlRowCounter } from '../checks/mysql-row-counter.ts';

/** What the [client] option file needs: a target, or the scratch server of a restore test. */
export type MysqlConnection = Pick<MysqlTarget, 'user' | 'host' | 'port' | 'socket' | 'password_env' | 'password_file'>;

function optionValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Writes the [client] option file; returns its path and a function that removes it. */
export async function optionFile(target: MysqlConnection): Promise<{ path: string; remove(): Promise<void> }> {
  const password = await resolvePassword(target);
  const dir = await mkdtemp(join(tmpdir(), 'tether-mysql-'));
  const lines = ['[client]', `user=${optionValue(target.user)}`];
  if (target.socket) lines.push(`socket=${optionValue(target.socket)}`);
  else lines.push(`host=${optionValue(target.host)}`, `port=${target.port}`, 'protocol=TCP');
  if (password !== undefined) lines.push(`password=${optionValue(password)}`);
  const path = join(dir, 'client.cnf');
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function mysqlSource(target: MysqlTarget, signal: AbortSignal): Promise<BackupSource> {
  const options = await optionFile(target);
  const many = target.databases.length > 1;
  const argv = [
    target.dump,
    `--defaults-extra-file=${options.path}`, // must be the first option
    '--single-transaction',
    '--routines',
    '--triggers',
    '--events',
    '--hex-blob',
    // One database: a dump that restores into any database name. Several: CREATE DATABASE + USE each.
    ...(many ? ['--databases', ...target.databases] : ['--', target.databases[0]!]),
  ];
  // Row counts for the restore test, read off the INSERT lines of a one-database dump.
  const counter = many ? null : new MysqlRowCounter();
  return {
    ...(counter ? { checks: { row_counts: counter.counts }, inspector: counter } : {}),
    stream: programOutput(argv, { tool: 'mysql', signal, stderrErrorsFail: true }),
    extension: 'sql',
    toolVersions: programVersion(target.dump).then((version) => ({ [target.dump]: version })),
    cleanup: options.remove,
  };
}

export async function mysqlRestore(target: MysqlTarget, input: Readable, signal: AbortSignal): Promise<string> {
  const options = await optionFile(target);
  const many = target.databases.length > 1;
  const database = many ? null : (target.restore_database ?? target.databases[0]!);
  try {
    await runWithInput([target.client, `--defaults-extra-file=${options.path}`, ...(database ? [`--database=${database}`] : [])], input, { tool: 'mysql', signal });
  } finally {
    await options.remove();
  }
  return database ?? target.databases.join(', ');
}
