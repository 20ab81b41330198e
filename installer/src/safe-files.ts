// File access for a manager that may run as root next to a less privileged service user:
// - readPlainFile reads a file another user may write (supervisor.json, bad-versions.json,
//   agent.yaml) as data only: no symlink followed, no FIFO or device opened (they could block or
//   leak), a size cap;
// - checkRootOwned refuses to trust a path (or run from it) that anyone but root could change;
// - writeFileOwned writes atomically (temp, fsync, rename) in a directory root owns, with the
//   final owner set before the rename.
import { constants } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ManagerError } from './output.ts';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** The text of a regular file, or null when it does not exist. Throws ManagerError for anything else. */
export async function readPlainFile(path: string, maxBytes: number): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    if (errorCode(error) === 'ELOOP') throw new ManagerError(`${path} is a symlink; refusing to read it (move it away)`);
    throw new ManagerError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ManagerError(`${path} is not a regular file; refusing to read it (move it away)`);
    if (info.size > maxBytes) throw new ManagerError(`${path} is ${info.size} bytes, more than the ${maxBytes} expected; refusing to read it`);
    const buffer = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(buffer, 0, info.size, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Owner 0 and not writable by group or others (a sticky directory, like /tmp, is fine). */
async function rootOnly(path: string): Promise<string | null> {
  const info = await lstat(path);
  if (info.uid !== 0) return `${path} belongs to uid ${info.uid}, not root`;
  const sticky = (info.mode & 0o1000) !== 0 && info.isDirectory();
  if ((info.mode & 0o022) !== 0 && !sticky) return `${path} is writable by group or others (mode ${(info.mode & 0o7777).toString(8)})`;
  return null;
}

/**
 * When running as root: every path given, and every directory above the prefix, must be root's
 * alone, or a less privileged user could swap what root is about to run or trust. No-op otherwise.
 */
export async function checkRootOwned(prefix: string, paths: readonly string[]): Promise<void> {
  if (!isRoot()) return;
  const ancestors: string[] = [];
  for (let dir = prefix; ; dir = dirname(dir)) {
    ancestors.push(dir);
    if (dir === dirname(dir)) break;
  }
  for (const path of [...ancestors, ...paths]) {
    let problem: string | null;
    try {
      problem = await rootOnly(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') continue;
      throw error;
    }
    if (problem !== null) throw new ManagerError(`${problem}: refusing to run or trust it as root; fix its owner and mode (chown root, chmod go-w)`);
  }
}

export interface OwnedFileOptions {
  mode: number;
  /** Owner of the finished file (root installs hand agent.yaml to the service user). */
  owner?: { uid: number; gid: number };
}

/** Writes path atomically: a new temp file beside it (never an existing one), fsync, owner, rename. */
export async function writeFileOwned(path: string, data: string, options: OwnedFileOptions): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', options.mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(options.mode);
    if (options.owner !== undefined) await handle.chown(options.owner.uid, options.owner.gid);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try { await handle.sync(); } finally { await handle.close(); }
  } catch {
    // Some filesystems refuse fsync on directories; the rename stays atomic.
  }
}
