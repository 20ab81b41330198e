// Installing releases into the state directory:
//   <state>/versions/<version>/        one complete, extracted release each
//   <state>/versions/<version>.staging  extraction in progress (never run from)
//   <state>/versions/.verified-XXXXXX/  a private copy of a tarball being verified and extracted
//   <state>/current -> versions/<v>    the running version; switched by one atomic rename
//   <state>/bad-versions.json          versions rolled back, never retried automatically
// Every step either completes or leaves the previous state untouched. Only node: built-ins and
// import-free shared files: the supervisor loads this.
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { childEnv } from '../child-env.ts';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../atomic-file.ts';
import { isValidVersion, sortVersions } from './versions.ts';
import { TetherError } from '../errors.ts';

export class InstallError extends TetherError {
  override name = 'InstallError';

  constructor(message: string) {
    super('TETHER_ERR_INSTALL', message);
  }
}

/** Files every release directory holds (paths relative to it). */
export const RELEASE_FILES = ['VERSION', 'agent.mjs', 'supervisor.mjs', 'bin/node'] as const;

const CURRENT_LINK = 'current';
const BAD_VERSIONS_FILE = 'bad-versions.json';
const STAGING_SUFFIX = '.staging';
const TRASH_MARK = '.trash-';
const PRIVATE_COPY_PREFIX = '.verified-';

export function versionsDir(stateDir: string): string {
  return join(resolve(stateDir), 'versions');
}

export function versionDir(stateDir: string, version: string): string {
  return join(versionsDir(stateDir), checkVersion(version));
}

export function currentLink(stateDir: string): string {
  return join(resolve(stateDir), CURRENT_LINK);
}

/** Versions become directory names; only strict semver (no "/", no "..") gets that far. */
function checkVersion(version: string): string {
  if (!isValidVersion(version)) throw new InstallError(`"${String(version).slice(0, 80)}" is not a semver version (e.g. 1.4.0)`);
  return version;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

async function fsyncPath(path: string): Promise<void> {
  try {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the renames stay atomic.
  }
}

// pid, time and a counter: unique without loading node:crypto into the supervisor (node-crypto.ts).
let suffixCounter = 0;

function uniqueSuffix(): string {
  suffixCounter += 1;
  return `${process.pid}.${Date.now().toString(36)}.${suffixCounter}`;
}

// ---- tar -------------------------------------------------------------------------------------

function runTar(args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    // argv array, no shell; the tarball path is absolute so it can never read as an option.
    // Its own environment (childEnv): the agent key and database passwords of the agent and the
    // supervisor never reach tar.
    execFile('tar', args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', env: childEnv() }, (error, stdout, stderr) => {
      if (error) {
        const detail = (stderr || error.message).trim().split('\n').slice(-3).join('; ');
        reject(new InstallError(`tar ${args[0]} failed: ${detail}`));
        return;
      }
      resolvePromise(stdout);
    });
  });
}

/** Checks every member name before anything is written: one top directory, nothing absolute, no "..". */
async function checkMemberNames(tarball: string, topDirectory: string): Promise<void> {
  // --quoting-style=escape: a name with a newline or other control character shows as "\n" etc.,
  // so each output line is exactly one member; any backslash is refused below.
  const listing = await runTar(['-t', '-z', '--quoting-style=escape', `--file=${tarball}`]);
  const names = listing.split('\n').filter((line) => line !== '');
  if (names.length === 0) throw new InstallError('release tarball is empty');
  for (const name of names) {
    if (name.includes('\\')) throw new InstallError(`release tarball member ${JSON.stringify(name)} has an unusual character in its name; refused`);
    if (name.startsWith('/')) throw new InstallError(`release tarball member "${name}" is an absolute path; refused`);
    const parts = name.split('/').filter((part) => part !== '' && part !== '.');
    if (parts.includes('..')) throw new InstallError(`release tarball member "${name}" escapes the release directory (".."); refused`);
    if (parts[0] !== topDirectory) throw new InstallError(`release tarball member "${name}" is outside ${topDirectory}/; refused`);
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Walks the extracted tree: only directories, regular files (not hard links) and symlinks that stay
 * inside it are allowed. fsyncs every file and directory on the way, so the rename that publishes
 * the version publishes complete data.
 */
async function checkAndSyncTree(root: string, dir: string): Promise<void> {
  for (const entry of await readdir(dir)) {
    const path = join(dir, entry);
    const info = await lstat(path);
    if (info.isDirectory()) {
      await checkAndSyncTree(root, path);
    } else if (info.isFile()) {
      if (info.nlink > 1) throw new InstallError(`release member "${relative(root, path)}" is a hard link; refused`);
      await fsyncPath(path);
    } else if (info.isSymbolicLink()) {
      const target = await readlink(path);
      if (isAbsolute(target) || !isInside(root, resolve(dirname(path), target))) {
        throw new InstallError(`release member "${relative(root, path)}" is a symlink to "${target}", outside the release; refused`);
      }
    } else {
      throw new InstallError(`release member "${relative(root, path)}" is not a file, directory or symlink; refused`);
    }
  }
  await fsyncPath(dir);
}

async function checkReleaseFiles(dir: string, version: string): Promise<void> {
  for (const file of RELEASE_FILES) {
    try {
      if (!(await lstat(join(dir, file))).isFile()) throw new Error('not a regular file');
    } catch {
      throw new InstallError(`release ${version} is incomplete: ${file} is missing (a release holds ${RELEASE_FILES.join(', ')})`);
    }
  }
  const stated = (await readFile(join(dir, 'VERSION'), 'utf8')).trim();
  if (stated !== version) throw new InstallError(`release tarball holds version "${stated.slice(0, 80)}", not ${version}`);
}

// ---- staging ---------------------------------------------------------------------------------

/**
 * Extracts a (verified) release tarball into <state>/versions/<version>.staging, checks and fsyncs it,
 * then renames it to <state>/versions/<version>. An existing copy of that version is replaced,
 * unless it is the current one. On any failure (bad member, disk full, ...) the staging directory
 * is removed and nothing else has changed. Returns the installed directory.
 */
export async function stageRelease(tarball: string, stateDir: string, version: string, options: { replaceCurrent?: boolean } = {}): Promise<string> {
  checkVersion(version);
  const tarballPath = resolve(tarball);
  const versions = versionsDir(stateDir);
  const finalDir = versionDir(stateDir, version);
  const stagingDir = `${finalDir}${STAGING_SUFFIX}`;
  await mkdir(resolve(stateDir), { recursive: true, mode: 0o700 });
  await mkdir(versions, { recursive: true, mode: 0o700 });
  // replaceCurrent: the supervisor reinstalls the current version (redeploy) while the agent is stopped.
  if (!options.replaceCurrent && (await readCurrent(stateDir)) === version) {
    throw new InstallError(`version ${version} is the current version; switch to another version before reinstalling it`);
  }
  await rm(stagingDir, { recursive: true, force: true });
  try {
    const topDirectory = `tether-agent-${version}`;
    await checkMemberNames(tarballPath, topDirectory);
    await mkdir(stagingDir, { mode: 0o755 });
    await runTar(['-x', '-z', `--file=${tarballPath}`, '-C', stagingDir, '--strip-components=1', '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir']);
    await checkAndSyncTree(stagingDir, stagingDir);
    await checkReleaseFiles(stagingDir, version);
    await publishStaged(stagingDir, finalDir);
    await fsyncPath(versions);
    return finalDir;
  } catch (error) {
    await rm(stagingDir, { recursive: true, force: true });
    if (error instanceof InstallError) throw error;
    const code = errorCode(error);
    const hint = code === 'ENOSPC' ? ' (disk full: free space in the state directory and retry)' : '';
    throw new InstallError(`installing release ${version} failed: ${(error as Error).message}${hint}`);
  }
}

/** Renames staging into place; an older copy of the same version is moved aside first, then removed. */
async function publishStaged(stagingDir: string, finalDir: string): Promise<void> {
  let trash: string | null = null;
  try {
    await lstat(finalDir);
    trash = `${finalDir}${TRASH_MARK}${uniqueSuffix()}`;
    await rename(finalDir, trash);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  try {
    await rename(stagingDir, finalDir);
  } catch (error) {
    if (trash !== null) await rename(trash, finalDir).catch(() => undefined);
    throw error;
  }
  if (trash !== null) await rm(trash, { recursive: true, force: true });
}

/**
 * A fresh 0700 directory for verifyRelease's privateCopyDir: the copy of a tarball that is verified
 * and then extracted, away from the download directory the agent writes. Removed by the caller, or
 * by cleanupStaging after a crash.
 */
export async function makePrivateCopyDir(stateDir: string): Promise<string> {
  await mkdir(versionsDir(stateDir), { recursive: true, mode: 0o700 });
  return mkdtemp(join(versionsDir(stateDir), PRIVATE_COPY_PREFIX));
}

/** Removes leftovers of interrupted installs and switches; returns what was removed (names). */
export async function cleanupStaging(stateDir: string): Promise<string[]> {
  const removed: string[] = [];
  const versions = versionsDir(stateDir);
  for (const name of await readdir(versions).catch(() => [] as string[])) {
    if (name.endsWith(STAGING_SUFFIX) || name.includes(TRASH_MARK) || name.startsWith(PRIVATE_COPY_PREFIX)) {
      await rm(join(versions, name), { recursive: true, force: true });
      removed.push(join('versions', name));
    }
  }
  const root = resolve(stateDir);
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (name.startsWith(`.${CURRENT_LINK}.`) && name.endsWith('.tmp')) {
      await rm(join(root, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}

// ---- the current version -----------------------------------------------------------------------

/**
 * Points <state>/current at versions/<version>: a new symlink under a temp name, renamed over
 * `current` in one atomic step, so `current` always resolves to a complete version.
 */
export async function switchCurrent(stateDir: string, version: string): Promise<void> {
  const target = versionDir(stateDir, version);
  try {
    if (!(await lstat(target)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new InstallError(`version ${version} is not installed (no directory ${target}); stage it first`);
  }
  const root = resolve(stateDir);
  const temp = join(root, `.${CURRENT_LINK}.${uniqueSuffix()}.tmp`);
  // Relative target: the state directory can move without breaking the link.
  await symlink(join('versions', version), temp);
  try {
    await rename(temp, currentLink(stateDir));
  } catch (error) {
    await rm(temp, { force: true });
    const hint = errorCode(error) === 'EISDIR' ? ` (${currentLink(stateDir)} is a real directory; move it away)` : '';
    throw new InstallError(`switching to version ${version} failed: ${(error as Error).message}${hint}`);
  }
  await fsyncPath(root);
}

/** The version `current` points at, or null when there is none yet. */
export async function readCurrent(stateDir: string): Promise<string | null> {
  let target: string;
  try {
    target = await readlink(currentLink(stateDir));
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    if (errorCode(error) === 'EINVAL') throw new InstallError(`${currentLink(stateDir)} is not a symlink; move it away`);
    throw error;
  }
  const resolved = resolve(resolve(stateDir), target);
  const version = relative(versionsDir(stateDir), resolved);
  if (!isValidVersion(version)) throw new InstallError(`${currentLink(stateDir)} points to "${target}", not to versions/<version>`);
  return version;
}

/** Installed versions (complete directories under versions/), oldest first. */
export async function listInstalled(stateDir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(versionsDir(stateDir), { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
  return sortVersions(entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name));
}

/** Deletes an installed version; the current one is refused. */
export async function removeVersion(stateDir: string, version: string): Promise<void> {
  const dir = versionDir(stateDir, version);
  if ((await readCurrent(stateDir)) === version) throw new InstallError(`version ${version} is current; it cannot be removed`);
  const trash = `${dir}${TRASH_MARK}${uniqueSuffix()}`;
  try {
    await rename(dir, trash); // one rename: the version disappears whole, then is deleted
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  await rm(trash, { recursive: true, force: true });
}

// ---- bad versions ------------------------------------------------------------------------------

export interface BadVersion {
  reason: string;
  marked_at: string;
}

export function badVersionsPath(stateDir: string): string {
  return join(resolve(stateDir), BAD_VERSIONS_FILE);
}

/** The bad-versions list: { "<version>": { reason, marked_at } }. Missing file = none. */
export async function readBadVersions(stateDir: string): Promise<Record<string, BadVersion>> {
  const path = badVersionsPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return {};
    throw error;
  }
  return parseBadVersions(text, path);
}

/** Parses the text of a bad-versions.json read by the caller; `path` names it in errors. */
export function parseBadVersions(text: string, path: string): Record<string, BadVersion> {
  // Written atomically, so a bad file means someone edited it: say so rather than forget the list.
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InstallError(`${path} is not valid JSON; fix or delete it (it lists versions never to retry)`);
  }
  const versions = (parsed as { versions?: unknown } | null)?.versions;
  if (versions === null || typeof versions !== 'object' || Array.isArray(versions)) {
    throw new InstallError(`${path} must be { "versions": { "<version>": { "reason", "marked_at" } } }; fix or delete it`);
  }
  const out: Record<string, BadVersion> = {};
  for (const [version, entry] of Object.entries(versions as Record<string, unknown>)) {
    if (!isValidVersion(version)) continue;
    const record = (entry ?? {}) as Record<string, unknown>;
    out[version] = {
      reason: typeof record.reason === 'string' ? record.reason : 'unknown',
      marked_at: typeof record.marked_at === 'string' ? record.marked_at : '',
    };
  }
  return out;
}

/** Records a version as bad (atomic write); it is never installed again automatically. */
export async function markBad(stateDir: string, version: string, reason: string): Promise<void> {
  checkVersion(version);
  await mkdir(resolve(stateDir), { recursive: true, mode: 0o700 });
  const versions = await readBadVersions(stateDir);
  versions[version] = { reason: String(reason).slice(0, 1000), marked_at: new Date().toISOString() };
  await writeFileAtomic(badVersionsPath(stateDir), `${JSON.stringify({ versions }, null, 2)}\n`, { mode: 0o600 });
}

export async function isBad(stateDir: string, version: string): Promise<boolean> {
  return Object.hasOwn(await readBadVersions(stateDir), version);
}

/** Forgets a bad mark: an explicitly named version that then passed its health gate. */
export async function clearBad(stateDir: string, version: string): Promise<void> {
  const versions = await readBadVersions(stateDir);
  if (!Object.hasOwn(versions, version)) return;
  delete versions[version];
  await writeFileAtomic(badVersionsPath(stateDir), `${JSON.stringify({ versions }, null, 2)}\n`, { mode: 0o600 });
}
