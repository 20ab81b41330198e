// PREFIX/lib: the verified release that root runs for lifecycle commands (bin/node, manager.mjs,
// supervisor.mjs, ...), owned by root, 0755 directories and 0644/0755 files that the service user
// may read but never change. The same layout and code as a state dir's versions (install.ts):
//   lib/versions/<v>/   lib/releases/<v>/ (its signed manifest and file hashes)   lib/current -> versions/<v>
import { chmod, lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanupStaging, InstallError, listInstalled, readCurrent, removeVersion, stageRelease, switchCurrent, versionDir, versionsDir } from '@tether/shared/release/install.ts';
import { checkInstalled, recordInstalled, releaseRecordDir } from '@tether/shared/release/state-files.ts';
import type { Layout } from './layout.ts';

/** What the bootstrap needs in a release beyond what every release holds (install.ts RELEASE_FILES). */
export const MANAGER_FILES = ['manager.mjs', 'deploy.sh'] as const;

export interface VerifiedFiles {
  version: string;
  /** The verified tarball, in a directory only root can write. */
  tarball: string;
  manifestBytes: Uint8Array;
  signature: string;
}

/** Directories 0755 and files 0644 (executables 0755): readable by the service user, writable by root only. */
async function openUp(path: string): Promise<void> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) return;
  if (info.isDirectory()) {
    await chmod(path, 0o755);
    for (const entry of await readdir(path)) await openUp(join(path, entry));
  } else {
    await chmod(path, (info.mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}

/**
 * Puts release <v> into lib/versions/<v> with its record. An existing copy is kept only when it
 * verifies against the signed manifest and its recorded hashes; otherwise it is extracted afresh.
 * Does not switch lib/current. Returns whether it was extracted now (for undoing a failed install).
 */
export async function stageProgramTree(layout: Layout, release: VerifiedFiles, trustedKeys: readonly string[]): Promise<{ extracted: boolean }> {
  await mkdir(layout.libDir, { recursive: true, mode: 0o755 });
  await chmod(layout.libDir, 0o755);
  await cleanupStaging(layout.libDir);
  const exists = await lstat(versionDir(layout.libDir, release.version)).then(
    () => true,
    () => false,
  );
  if (exists && (await checkInstalled(layout.libDir, release.version, trustedKeys)).ok) return { extracted: false };
  await stageRelease(release.tarball, layout.libDir, release.version, { replaceCurrent: true });
  for (const file of MANAGER_FILES) {
    if (
      !(await lstat(join(versionDir(layout.libDir, release.version), file)).then(
        (info) => info.isFile(),
        () => false,
      ))
    ) {
      await removeVersion(layout.libDir, release.version).catch(() => undefined);
      throw new InstallError(`release ${release.version} has no ${file}: it predates deploy.sh's manager; install a newer release`);
    }
  }
  await recordInstalled(layout.libDir, release.version, { manifest: release.manifestBytes, signature: release.signature });
  for (const path of [versionsDir(layout.libDir), versionDir(layout.libDir, release.version), join(layout.libDir, 'releases')]) await openUp(path);
  return { extracted: true };
}

/** Points lib/current at <v> and removes every other version from lib/. */
export async function switchProgramTree(layout: Layout, version: string): Promise<void> {
  await switchCurrent(layout.libDir, version);
  for (const old of await listInstalled(layout.libDir)) {
    if (old === version) continue;
    await removeVersion(layout.libDir, old);
    await rm(releaseRecordDir(layout.libDir, old), { recursive: true, force: true });
  }
}

/** Undo of stageProgramTree for a failed install: the version goes unless lib/current runs it. */
export async function unstageProgramTree(layout: Layout, version: string): Promise<void> {
  if ((await readCurrent(layout.libDir).catch(() => null)) === version) return;
  await removeVersion(layout.libDir, version).catch(() => undefined);
  await rm(releaseRecordDir(layout.libDir, version), { recursive: true, force: true });
}
