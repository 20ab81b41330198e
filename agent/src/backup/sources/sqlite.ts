// SQLite: a consistent snapshot of a live database through SQLite's online backup API
// (node:sqlite backup), never a raw copy of a file another process is writing.
import { loadSqlite } from '@tether/shared/sqlite.ts';
import { createReadStream } from 'node:fs';
import { access, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { SqliteTarget } from '../config-schema.ts';
import type { BackupSource } from './source.ts';

export async function sqliteSource(target: SqliteTarget, snapshotPath: string): Promise<BackupSource> {
  await access(target.path).catch(() => {
    throw new Error(`sqlite database ${target.path} does not exist or is not readable`);
  });
  const { backup, DatabaseSync } = loadSqlite();
  const source = new DatabaseSync(target.path, { readOnly: true });
  try {
    await backup(source, snapshotPath);
  } finally {
    source.close();
  }
  const { size } = await stat(snapshotPath);
  return {
    stream: createReadStream(snapshotPath),
    extension: 'sqlite',
    bytesTotal: size,
    toolVersions: { sqlite: sqliteVersion() },
    cleanup: () => rm(snapshotPath, { force: true }),
  };
}

function sqliteVersion(): string {
  const db = new (loadSqlite().DatabaseSync)(':memory:');
  try {
    return String((db.prepare('select sqlite_version() as v').get() as { v: string }).v);
  } finally {
    db.close();
  }
}

/** Writes the dump to a scratch file, checks it, then copies it into the live database with the backup API. */
export async function sqliteRestore(target: SqliteTarget, input: Readable, scratchPath: string): Promise<string> {
  try {
    await pipeline(input, createWriteStream(scratchPath, { mode: 0o600 }));
    const { backup, DatabaseSync } = loadSqlite();
    const restored = new DatabaseSync(scratchPath);
    try {
      const check = restored.prepare('pragma integrity_check').get() as { integrity_check: string };
      if (check.integrity_check !== 'ok') throw new Error(`restored sqlite database fails integrity_check: ${check.integrity_check}`);
      await backup(restored, target.path);
    } finally {
      restored.close();
    }
  } finally {
    await rm(scratchPath, { force: true });
  }
  return target.path;
}
