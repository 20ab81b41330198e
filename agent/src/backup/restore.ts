// Restore an artifact into its target. Off unless backup.restore_enabled; needs the age identity
// file when the artifact is encrypted. The artifact's sha256 is checked before anything is written.
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { readIdentityFile } from './age/x25519.ts';
import type { Identity } from './age/x25519.ts';
import type { BackupConfig, BackupTarget } from './config-schema.ts';
import type { Manifest } from './manifest.ts';
import { checkArtifact, openPlainStream } from './read-artifact.ts';
import type { ArtifactStore } from './store.ts';
import { filesRestore } from './sources/files.ts';
import { postgresRestore } from './sources/postgres.ts';
import { mysqlRestore } from './sources/mysql.ts';
import { sqliteRestore } from './sources/sqlite.ts';
import { commandRestore } from './sources/command.ts';
import { TetherError } from '@tether/shared/errors.ts';

export async function loadIdentities(config: BackupConfig): Promise<Identity[]> {
  return config.identity_file ? readIdentityFile(config.identity_file) : [];
}

function restoreInto(target: BackupTarget, input: Readable, scratchPath: string, signal: AbortSignal): Promise<string> {
  switch (target.kind) {
    case 'files':
      return filesRestore(target, input);
    case 'postgres':
      return postgresRestore(target, input, signal);
    case 'mysql':
      return mysqlRestore(target, input, signal);
    case 'sqlite':
      return sqliteRestore(target, input, scratchPath);
    case 'command':
      return commandRestore(target, input, signal);
  }
}

/**
 * An artifact is restored only into the target it was made from (issue 9 item 7): a matching kind
 * is not enough, since target X's dump would overwrite target Y's database or files.
 */
export function assertSameTarget(manifest: Manifest, targetName: string): void {
  if (manifest.target !== targetName) {
    throw new CrossTargetRestore(
      `artifact ${manifest.id} was made from target ${manifest.target}, not ${targetName}: an artifact restores only into its own target (restore {id: "${manifest.id}", target: "${manifest.target}"})`,
    );
  }
}

export class CrossTargetRestore extends TetherError {
  override name = 'CrossTargetRestore';

  constructor(message: string) {
    super('TETHER_ERR_CROSS_TARGET_RESTORE', message);
  }
}

export async function runRestore(config: BackupConfig, store: ArtifactStore, manifest: Manifest, targetName: string, signal: AbortSignal): Promise<string> {
  if (!config.restore_enabled) throw new Error('restore is disabled on this host; set backup.restore_enabled: true in the agent config to allow it');
  const target = store.target(targetName);
  if (!target) throw new Error(`no backup target named "${targetName}" in this agent's config`);
  assertSameTarget(manifest, targetName);
  if (target.kind !== manifest.kind) throw new Error(`artifact ${manifest.id} is a ${manifest.kind} backup; target ${targetName} is ${target.kind}`);
  const identities = await loadIdentities(config);
  if (manifest.encrypted && identities.length === 0) {
    throw new Error('artifact is encrypted and backup.identity_file is not set; put the age identity file on this host to restore');
  }
  const path = store.artifactPath(manifest);
  const integrity = await checkArtifact(path, manifest, [], signal);
  if (!integrity.ok) throw new Error(`artifact ${manifest.id} fails its integrity check: ${integrity.problems.join('; ')}`);
  const scratch = join(store.dirFor(targetName), `.${manifest.id}.restore`);
  return restoreInto(target, openPlainStream(path, manifest, identities), scratch, signal);
}
