// File access for a manager that may run as root next to a less privileged service user:
// - readPlainFile reads a file another user may write (supervisor.json, bad-versions.json,
//   agent.yaml) as data only: no symlink followed, no FIFO or device opened (they could block or
//   leak), a size cap;
// - checkRootOwned refuses to trust a path (or run from it) that anyone but root could change.
// Writes go through shared/src/atomic-file.ts (temp file, fsync, owner, rename), always into
// directories root owns.
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { dirname } from 'node:path';
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
