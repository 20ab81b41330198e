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
    checks: { row_counts: sqliteRowCounts(snapshotPath) },
    stream: createReadStream(snapshotPath),
    extension: 'sqlite',
    bytesTotal: size,
    toolVersions: { sqlite: sqliteVersion() },
    cleanup: () => rm(snapshotPath, { force: true }),
  };
}

/** Rows per table of a database file (the snapshot at backup time, the scratch copy at verify time). */
export function sqliteRowCounts(path: string): Record<string, number> {
  const db = new (loadSqlite().DatabaseSync)(path, { readOnly: true });
  try {
    const tables = db.prepare("select name from sqlite_schema where type = 'table' and name not like 'sqlite_%' order by name").all() as Array<{ name: string }>;
    const counts: Record<string, number> = {};
    for (const { name } of tables) {
      counts[name] = Number((db.prepare(`select count(*) as n from "${name.replace(/"/g, '""')}"`).get() as { n: number | bigint }).n);
    }
    return counts;
  } finally {
    db.close();
  }
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
