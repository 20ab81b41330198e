// At agent start-up: a backup killed mid-run (kill -9, power loss) leaves its `.<id>.partial`
// artifact and maybe a `.<id>.snapshot` (sqlite) behind. No manifest points at them, so they are
// never artifacts; this removes them so they do not eat the disk.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@tether/shared/logger.ts';
import type { BackupConfig } from './config-schema.ts';
import { ArtifactStore } from './store.ts';

const LEFTOVER = /^\.[a-z0-9][a-z0-9_-]{0,63}-\d{8}T\d{6}Z-[a-f0-9]{8}\.(partial|snapshot)$/;

/** Removes leftovers of interrupted backups in every target's directory; returns their paths. */
export async function cleanupPartialBackups(config: BackupConfig, stateDir: string, log?: Logger): Promise<string[]> {
  const store = new ArtifactStore(config, stateDir);
  const removed: string[] = [];
  for (const target of store.targetNames()) {
    const dir = store.dirFor(target);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!LEFTOVER.test(name)) continue;
      const path = join(dir, name);
      await rm(path, { force: true });
      removed.push(path);
      log?.info({ target, path }, 'removed the leftover of an interrupted backup');
    }
  }
  return removed;
}
