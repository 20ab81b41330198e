// Durable writes: temp file in the same directory, fsync, rename, fsync the directory.
// A crash at any point leaves either the old file or the new one, never half of either.
import { open, rename, rm, mkdir } from 'node:fs/promises';
import { openSync, writeSync, fsyncSync, closeSync, renameSync, rmSync, mkdirSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode, default 0o600: state files may hold secrets. */
  mode?: number;
  /**
   * fsync the file and its directory (default true). Without it the write is still atomic and
   * survives a crash of this process, but not a power loss.
   */
  sync?: boolean;
  /** Owner of the finished file, set before it appears under its name (a root installer handing a file to a service user). */
  owner?: { uid: number; gid: number };
}

// pid + counter keeps temp names unique without loading node:crypto (about 1 MB in the supervisor).
let tempCounter = 0;

function tempPathFor(path: string): string {
  tempCounter += 1;
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.${tempCounter}.tmp`);
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const temp = tempPathFor(path);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // wx: a new file, never one already there under the temp name (nor a symlink planted as one).
  const handle = await open(temp, 'wx', options.mode ?? 0o600);
  try {
    await handle.writeFile(data);
    if (options.owner !== undefined) await handle.chown(options.owner.uid, options.owner.gid);
    if (options.sync !== false) await handle.sync();
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
  if (options.sync !== false) await syncDirectory(dirname(path));
}

export function writeFileAtomicSync(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const temp = tempPathFor(path);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(temp, 'wx', options.mode ?? 0o600);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
    if (options.sync !== false) fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temp, path);
  if (options.sync === false) return;
  try {
    const dirFd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}
