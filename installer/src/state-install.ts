// The state side of an install, run as the service user (root-owned code from lib/, never code
// from the state dir): the service's own copy of the release in state/versions/<v>, its install
// record, the pinned release keys, the bad mark, state/current. Root does not write into the state
// dir itself: in a directory another user controls, that user can redirect a write of root's
// anywhere (a symlink or a rename at the right moment).
//
// What it trusts is root's: the verified tarball copy, and lib/releases/<v>/ (the signed manifest
// and the sha256 of every file of the verified release). An existing state/versions/<v> is kept
// only when every file matches those hashes; anything else is extracted afresh.
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { cleanupStaging, clearBad, stageRelease, switchCurrent, versionDir } from '@tether/shared/release/install.ts';
import { hashReleaseFiles, parseKeyList, recordInstalled, releaseRecordDir, writePinnedKeys } from '@tether/shared/release/state-files.ts';
import { RELEASE_FILES } from '@tether/shared/release/install.ts';
import type { Layout } from './layout.ts';
import { ManagerError } from './output.ts';

export interface StateInstallRequest {
  version: string;
  /** A root-owned copy of the verified tarball the service user can read. */
  tarball: string;
  clearBadMark: boolean;
}

export const stateInstallResultSchema = z.object({
  outcome: z.enum(['extracted', 'reused', 'replaced']),
  /** For `replaced`: what differed from the signed release. */
  difference: z.string().max(500).nullable(),
});
export type StateInstallResult = z.infer<typeof stateInstallResultSchema>;

const fileHashesSchema = z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/));

/** The first file that differs between the verified hashes and what is on disk, or null. */
export function describeDifference(expected: Record<string, string>, actual: Record<string, string> | null): string | null {
  if (actual === null) return 'it is unreadable';
  for (const file of new Set([...RELEASE_FILES, ...Object.keys(expected), ...Object.keys(actual)])) {
    if (expected[file] === actual[file] && actual[file] !== undefined) continue;
    if (actual[file] === undefined) return `${file} is missing`;
    if (expected[file] === undefined) return `${file} is not part of the release`;
    return `${file} does not match its signed sha256`;
  }
  return null;
}

export async function installIntoState(layout: Layout, request: StateInstallRequest): Promise<StateInstallResult> {
  const { version } = request;
  const record = releaseRecordDir(layout.libDir, version);
  const expected = fileHashesSchema.parse(JSON.parse(await readFile(join(record, 'files.json'), 'utf8')));
  const manifest = await readFile(join(record, 'manifest.json'));
  const signature = await readFile(join(record, 'manifest.json.sig'), 'utf8');
  const keys = parseKeyList(await readFile(layout.releaseKeys, 'utf8'));
  const state = layout.stateDir;
  const target = versionDir(state, version);

  await cleanupStaging(state);
  let result: StateInstallResult = { outcome: 'extracted', difference: null };
  if (
    await lstat(target).then(
      () => true,
      () => false,
    )
  ) {
    const difference = describeDifference(expected, await hashReleaseFiles(target).catch(() => null));
    result = difference === null ? { outcome: 'reused', difference: null } : { outcome: 'replaced', difference };
  }
  if (result.outcome !== 'reused') {
    await stageRelease(request.tarball, state, version, { replaceCurrent: true });
    const difference = describeDifference(expected, await hashReleaseFiles(target));
    if (difference !== null) throw new ManagerError(`release ${version} unpacked into ${target} does not match the verified release (${difference})`);
  }
  await recordInstalled(state, version, { manifest, signature, files: expected });
  await writePinnedKeys(state, keys);
  if (request.clearBadMark) await clearBad(state, version);
  await switchCurrent(state, version);
  return result;
}
