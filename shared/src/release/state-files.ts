// The files through which agent and supervisor hand an update over (protocol.md section 7):
//   <state>/downloads/<v>/            the verified tarball, manifest and signature the agent fetched
//   <state>/downloads/<v>.partial/    a download in progress (never used; removed on failure/start)
//   <state>/staged.json               { version, tarball, manifest, signature, from, staged_at }: exit 43 follows
//   <state>/redeploy.json             { version, releases_url, platform }: exit 44 follows
//   <state>/update-outcome.json       { from, to, outcome, reason, at }: reported at the next registration
//   <state>/release-keys.pub          pinned release public keys, one base64 key per line
//   <state>/releases/<v>/             how an installed version was verified: manifest, signature, files.json
// Only node: built-ins and import-free shared files: the supervisor loads this.
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-file.ts';
import { isValidVersion } from './versions.ts';
import { RELEASE_FILES, versionDir } from './install.ts';
import { parseManifest } from './manifest.ts';
import { decodePublicKey, findSigningKey } from './signing.ts';
import { sha256OfFile } from './verify.ts';

export const STAGED_FILE = 'staged.json';
export const REDEPLOY_FILE = 'redeploy.json';
export const OUTCOME_FILE = 'update-outcome.json';
export const RELEASE_KEYS_FILE = 'release-keys.pub';
const PARTIAL_SUFFIX = '.partial';

export function statePath(stateDir: string, name: string): string {
  return join(resolve(stateDir), name);
}

export function downloadsDir(stateDir: string): string {
  return statePath(stateDir, 'downloads');
}

export function downloadDir(stateDir: string, version: string, partial = false): string {
  if (!isValidVersion(version)) throw new Error(`"${String(version).slice(0, 80)}" is not a semver version`);
  return join(downloadsDir(stateDir), partial ? `${version}${PARTIAL_SUFFIX}` : version);
}

export function releaseRecordDir(stateDir: string, version: string): string {
  if (!isValidVersion(version)) throw new Error(`"${String(version).slice(0, 80)}" is not a semver version`);
  return join(statePath(stateDir, 'releases'), version);
}

async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch {
    return null; // present but unreadable: callers treat it as invalid
  }
}

function text(record: Record<string, unknown>, name: string): string | undefined {
  const value = record[name];
  return typeof value === 'string' && value.length > 0 && value.length <= 4096 ? value : undefined;
}

// ---- staged.json -----------------------------------------------------------------------------

export interface StagedUpdate {
  version: string;
  /** The version running when it was staged. */
  from: string;
  tarball: string;
  manifest: string;
  signature: string;
  staged_at: string;
}

export type StagedRead = { state: 'none' } | { state: 'invalid'; problem: string } | { state: 'staged'; staged: StagedUpdate };

export async function readStaged(stateDir: string): Promise<StagedRead> {
  const value = await readJsonFile(statePath(stateDir, STAGED_FILE));
  if (value === undefined) return { state: 'none' };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { state: 'invalid', problem: `${STAGED_FILE} is not a JSON object` };
  const record = value as Record<string, unknown>;
  const version = text(record, 'version');
  if (version === undefined || !isValidVersion(version)) return { state: 'invalid', problem: `${STAGED_FILE}: version is not semver` };
  // The files must be the ones the agent downloads into downloads/<v>/ and nothing else.
  const dir = downloadDir(stateDir, version);
  const files = { tarball: text(record, 'tarball'), manifest: text(record, 'manifest'), signature: text(record, 'signature') };
  for (const [name, path] of Object.entries(files)) {
    if (path === undefined || resolve(path) !== join(dir, path.slice(path.lastIndexOf('/') + 1)) || path.slice(path.lastIndexOf('/') + 1).startsWith('.')) {
      return { state: 'invalid', problem: `${STAGED_FILE}: ${name} must be a file in ${dir}` };
    }
  }
  return {
    state: 'staged',
    staged: {
      version,
      from: text(record, 'from') ?? 'unknown',
      tarball: files.tarball!,
      manifest: files.manifest!,
      signature: files.signature!,
      staged_at: text(record, 'staged_at') ?? '',
    },
  };
}

export async function writeStaged(stateDir: string, staged: StagedUpdate): Promise<void> {
  await writeFileAtomic(statePath(stateDir, STAGED_FILE), `${JSON.stringify(staged, null, 2)}\n`, { mode: 0o600 });
}

export async function removeStaged(stateDir: string): Promise<void> {
  await rm(statePath(stateDir, STAGED_FILE), { force: true });
}

// ---- redeploy.json ---------------------------------------------------------------------------

export interface RedeployRequest {
  version: string;
  /** http(s) URL of the hub's releases endpoint (…/api/agents/releases), from the agent's own config. */
  releases_url: string;
  platform: string;
  requested_at: string;
}

export async function readRedeployRequest(stateDir: string): Promise<RedeployRequest | { problem: string } | null> {
  const value = await readJsonFile(statePath(stateDir, REDEPLOY_FILE));
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { problem: `${REDEPLOY_FILE} is not a JSON object` };
  const record = value as Record<string, unknown>;
  const version = text(record, 'version');
  const url = text(record, 'releases_url');
  const platform = text(record, 'platform');
  if (version === undefined || !isValidVersion(version)) return { problem: `${REDEPLOY_FILE}: version is not semver` };
  if (url === undefined || !/^https?:\/\/[^\s]+\/api\/agents\/releases$/.test(url)) return { problem: `${REDEPLOY_FILE}: releases_url must be an http(s) URL ending in /api/agents/releases` };
  if (platform === undefined || !/^[a-z0-9]+-[a-z0-9]+$/.test(platform)) return { problem: `${REDEPLOY_FILE}: platform must look like linux-x64` };
  return { version, releases_url: url, platform, requested_at: text(record, 'requested_at') ?? '' };
}

export async function writeRedeployRequest(stateDir: string, request: RedeployRequest): Promise<void> {
  await writeFileAtomic(statePath(stateDir, REDEPLOY_FILE), `${JSON.stringify(request, null, 2)}\n`, { mode: 0o600 });
}

export async function removeRedeployRequest(stateDir: string): Promise<void> {
  await rm(statePath(stateDir, REDEPLOY_FILE), { force: true });
}

// ---- update-outcome.json ---------------------------------------------------------------------

export type UpdateOutcomeKind = 'updated' | 'rolled_back' | 'redeployed' | 'failed';

export interface UpdateOutcome {
  from: string;
  to: string;
  outcome: UpdateOutcomeKind;
  reason?: string;
  at: string;
}

const OUTCOMES: readonly string[] = ['updated', 'rolled_back', 'redeployed', 'failed'];

export async function writeOutcome(stateDir: string, outcome: Omit<UpdateOutcome, 'at'>): Promise<void> {
  const record: UpdateOutcome = { ...outcome, reason: outcome.reason?.slice(0, 1000), at: new Date().toISOString() };
  await writeFileAtomic(statePath(stateDir, OUTCOME_FILE), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

export async function readOutcome(stateDir: string): Promise<UpdateOutcome | null> {
  const value = await readJsonFile(statePath(stateDir, OUTCOME_FILE));
  if (value === undefined || value === null || typeof value !== 'object') return null;
  const record = value as Record<string, unknown>;
  const from = text(record, 'from');
  const to = text(record, 'to');
  const outcome = text(record, 'outcome');
  if (from === undefined || to === undefined || outcome === undefined || !OUTCOMES.includes(outcome)) return null;
  return { from, to, outcome: outcome as UpdateOutcomeKind, reason: text(record, 'reason'), at: text(record, 'at') ?? new Date().toISOString() };
}

// ---- pinned release keys ---------------------------------------------------------------------

/** Keys from <state>/release-keys.pub (one base64 key per line; # comments). Invalid lines are skipped. */
export async function readPinnedKeys(stateDir: string): Promise<string[]> {
  let content: string;
  try {
    content = await readFile(statePath(stateDir, RELEASE_KEYS_FILE), 'utf8');
  } catch {
    return [];
  }
  return parseKeyList(content);
}

export function parseKeyList(content: string): string[] {
  const keys: string[] = [];
  for (const line of content.split(/[\n,]/)) {
    const key = line.replace(/#.*/, '').trim();
    if (key === '') continue;
    try {
      decodePublicKey(key);
      if (!keys.includes(key)) keys.push(key);
    } catch {
      // not a key: skipped (the writer validates)
    }
  }
  return keys;
}

export async function writePinnedKeys(stateDir: string, keys: readonly string[]): Promise<void> {
  await writeFileAtomic(statePath(stateDir, RELEASE_KEYS_FILE), `${keys.join('\n')}\n`, { mode: 0o644 });
}

// ---- the record of an installed version ------------------------------------------------------

/** sha256 of every regular file under dir (chunks/ included), by relative path, sorted. */
export async function hashReleaseFiles(dir: string, prefix = ''): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const entry of (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const relativePath = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) Object.assign(hashes, await hashReleaseFiles(dir, relativePath));
    else if (entry.isFile()) hashes[relativePath] = await sha256OfFile(join(dir, relativePath));
  }
  return hashes;
}

/** What an install record holds: the signed manifest bytes and signature that verified. */
export interface VerifiedRecord {
  manifest: Uint8Array | string;
  signature: string;
  /**
   * The sha256 of every release file, when the installer has them from the verified release itself
   * (e.g. from a root-owned copy); otherwise they are hashed from the installed directory.
   */
  files?: Record<string, string>;
}

/**
 * Written right after a version was extracted from a verified tarball: its signed manifest and the
 * sha256 of every release file, so the version can be checked again later (at start, before a
 * rollback) without keeping the tarball.
 */
export async function recordInstalled(stateDir: string, version: string, record: VerifiedRecord): Promise<void> {
  const dir = releaseRecordDir(stateDir, version);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(dir, 'manifest.json'), record.manifest, { mode: 0o600 });
  await writeFileAtomic(join(dir, 'manifest.json.sig'), record.signature, { mode: 0o600 });
  const files = record.files ?? (await hashReleaseFiles(versionDir(stateDir, version)));
  await writeFileAtomic(join(dir, 'files.json'), `${JSON.stringify(files, null, 2)}\n`, { mode: 0o600 });
}

export type InstalledCheck = { ok: true } | { ok: false; unrecorded: boolean; problem: string };

/** Checks an installed version: signed manifest for that version, and every file's sha256 as recorded. */
export async function checkInstalled(stateDir: string, version: string, trustedKeys: readonly string[]): Promise<InstalledCheck> {
  const dir = releaseRecordDir(stateDir, version);
  let manifestBytes: Buffer;
  let signature: string;
  let recorded: unknown;
  try {
    manifestBytes = await readFile(join(dir, 'manifest.json'));
    signature = await readFile(join(dir, 'manifest.json.sig'), 'utf8');
    recorded = JSON.parse(await readFile(join(dir, 'files.json'), 'utf8'));
  } catch {
    return { ok: false, unrecorded: true, problem: `version ${version} has no install record in ${dir}` };
  }
  if (findSigningKey(manifestBytes, signature, trustedKeys) === null) {
    return { ok: false, unrecorded: false, problem: `version ${version}: its manifest signature does not verify with the pinned release keys` };
  }
  try {
    if (parseManifest(manifestBytes).version !== version) return { ok: false, unrecorded: false, problem: `version ${version}: its manifest names another version` };
  } catch (error) {
    return { ok: false, unrecorded: false, problem: `version ${version}: ${(error as Error).message}` };
  }
  let actual: Record<string, string>;
  try {
    actual = await hashReleaseFiles(versionDir(stateDir, version));
  } catch (error) {
    return { ok: false, unrecorded: false, problem: `version ${version} is incomplete: ${(error as Error).message}` };
  }
  const expected = (recorded ?? {}) as Record<string, unknown>;
  for (const file of new Set([...Object.keys(expected), ...Object.keys(actual), ...RELEASE_FILES])) {
    if (expected[file] !== actual[file]) {
      const what = actual[file] === undefined ? 'is missing' : expected[file] === undefined ? 'was not part of the release' : 'does not match its recorded sha256';
      return { ok: false, unrecorded: false, problem: `version ${version}: ${file} ${what} (damaged install)` };
    }
  }
  return { ok: true };
}

/**
 * Checks that an install without a record holds the release files. Every installer writes a record
 * (deploy.sh's manager, the supervisor, the agent's update); an unrecorded version was unpacked by
 * hand or by a deploy.sh older than install records, and only runs as the current version.
 */
export async function checkComplete(stateDir: string, version: string): Promise<string | null> {
  const dir = versionDir(stateDir, version);
  try {
    for (const file of RELEASE_FILES) {
      if (!(await stat(join(dir, file))).isFile()) return `version ${version}: ${file} is not a file`;
    }
    const stated = (await readFile(join(dir, 'VERSION'), 'utf8')).trim();
    return stated === version ? null : `version ${version}: VERSION says "${stated.slice(0, 40)}"`;
  } catch (error) {
    return `version ${version} is incomplete: ${(error as Error).message}`;
  }
}
