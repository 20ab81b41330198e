// A restore test of one artifact: check its sha256 against the manifest, decrypt and decompress it
// in one stream into a scratch place for its kind (a throwaway PostgreSQL or MariaDB database, a
// SQLite file, an extracted directory), and compare what comes back with what the manifest
// recorded at backup time, plus the target's check query. Runs only where an age identity is. The
// scratch database or directory is removed whatever happens; the result says what was checked.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Identity } from '../age/x25519.ts';
import type { BackupConfig, BackupTarget } from '../config-schema.ts';
import type { Manifest, VerifyResult } from '../manifest.ts';
import { checkArtifact, openPlainStream } from '../read-artifact.ts';
import { message, newOutcome } from './outcome.ts';
import type { CheckOutcome } from './outcome.ts';
import { testPostgresRestore } from './postgres-scratch.ts';
import { testMysqlRestore } from './mysql-scratch.ts';
import { testSqliteRestore } from './sqlite-scratch.ts';
import { testFilesRestore } from './files-scratch.ts';

export interface RestoreTestInput {
  config: BackupConfig;
  manifest: Manifest;
  artifactPath: string;
  identities: Identity[];
  /** The target's own config, on the backup host; absent on a verify host (scratch: config only). */
  target?: BackupTarget | undefined;
  /** The check query, when the target (or the request) has one. */
  sql?: string | undefined;
  signal: AbortSignal;
  by?: string | undefined;
}

export async function runRestoreTest(input: RestoreTestInput): Promise<VerifyResult> {
  const started = Date.now();
  const outcome = newOutcome();
  try {
    await restoreAndCompare(input, outcome);
  } catch (error) {
    if (input.signal.aborted) throw error;
    outcome.problems.push(message(error));
  }
  return {
    ok: outcome.problems.length === 0,
    at: new Date(started).toISOString(),
    duration_ms: Date.now() - started,
    checked: outcome.checked,
    problems: outcome.problems,
    ...(input.by ? { by: input.by } : {}),
  };
}

async function restoreAndCompare(input: RestoreTestInput, outcome: CheckOutcome): Promise<void> {
  const { manifest, config, signal } = input;
  if (manifest.encrypted && input.identities.length === 0) {
    throw new Error('the artifact is encrypted and this host has no backup.identity_file: run the restore test on a host that holds the age identity (a verify host)');
  }
  const integrity = await checkArtifact(input.artifactPath, manifest, [], signal);
  if (!integrity.ok) {
    outcome.problems.push(...integrity.problems.map((problem) => `artifact: ${problem}`));
    return;
  }
  outcome.checked.push(`sha256 and size (${manifest.size} bytes) match the manifest`);
  // Opened only once the scratch place is ready: the file starts flowing as soon as it is open.
  const dump = () => openPlainStream(input.artifactPath, manifest, input.identities);
  const expected = manifest.checks?.row_counts;
  const target = input.target?.kind === manifest.kind ? input.target : undefined;
  switch (manifest.kind) {
    case 'postgres': {
      const format = manifest.file.startsWith(`${manifest.id}.dump`) ? 'custom' : 'plain';
      if (format === 'plain' && !expected) {
        throw new Error(
          'this plain PostgreSQL artifact records no row counts (a multi-database script, or made by an older agent): it would recreate its databases under their own names, so it is not restore-tested; back up one database per target',
        );
      }
      const own = target?.kind === 'postgres' ? target : undefined;
      const scratch = config.scratch.postgres ?? (own ? { url: own.url, password_env: own.password_env, password_file: own.password_file, psql: own.psql, pg_restore: own.pg_restore } : undefined);
      if (!scratch) throw new Error("no scratch PostgreSQL: set backup.scratch.postgres.url in this host's config (a server where the agent may create and drop databases)");
      await testPostgresRestore({ scratch, format, dump, expected, sql: input.sql, outcome, signal });
      return;
    }
    case 'mysql': {
      const own = target?.kind === 'mysql' ? target : undefined;
      const scratch =
        config.scratch.mysql ??
        (own ? { host: own.host, port: own.port, user: own.user, socket: own.socket, password_env: own.password_env, password_file: own.password_file, client: own.client } : undefined);
      if (!scratch) throw new Error("no scratch MariaDB: set backup.scratch.mysql in this host's config (a server where the agent may create and drop databases)");
      if (!expected) {
        throw new Error('this MariaDB artifact records no row counts (a multi-database dump, or made by an older agent), so it is not restore-tested; back up one database per target');
      }
      await testMysqlRestore({ scratch, dump, expected, sql: input.sql, outcome, signal });
      return;
    }
    case 'sqlite':
    case 'files': {
      const scratchDir = await mkdtemp(join(config.scratch.dir ?? tmpdir(), 'tether-verify-'));
      try {
        if (manifest.kind === 'sqlite') await testSqliteRestore({ scratchDir, dump, expected, sql: input.sql, outcome, signal });
        else await testFilesRestore({ scratchDir, dump, expectedCount: manifest.checks?.files?.count, outcome, signal });
      } finally {
        await rm(scratchDir, { recursive: true, force: true });
      }
      return;
    }
    case 'command': {
      const full = await checkArtifact(input.artifactPath, manifest, input.identities, signal);
      if (full.ok) outcome.checked.push('decrypted and decompressed end to end (command targets have no scratch restore)');
      else outcome.problems.push(...full.problems);
      return;
    }
  }
}
