// PREFIX/logs/agent.log of the pid-file service: rotated at 5 MiB, 3 old files kept. Copy and
// truncate, because the supervisor keeps appending (O_APPEND) to the file descriptor it was given.
// logs/ is root's (or the installing user's) alone; the service only holds the open descriptor.
import { copyFile, rename, stat, truncate } from 'node:fs/promises';

export const LOG_ROTATE_BYTES = 5 * 1024 * 1024;
export const LOG_KEEP = 3;

export async function rotateLog(log: string, limit = LOG_ROTATE_BYTES): Promise<boolean> {
  const size = await stat(log).then(
    (info) => info.size,
    () => 0,
  );
  if (size < limit) return false;
  for (let i = LOG_KEEP - 1; i >= 1; i--) await rename(`${log}.${i}`, `${log}.${i + 1}`).catch(() => undefined);
  await copyFile(log, `${log}.1`);
  await truncate(log, 0);
  return true;
}

/** The rotator of a pid-file service: every 30 s while `isOurs()` holds (the supervisor it was started for runs). */
export async function rotateWhile(log: string, isOurs: () => Promise<boolean>, intervalMs = 30_000): Promise<void> {
  while (await isOurs()) {
    await rotateLog(log).catch(() => false);
    await new Promise((done) => setTimeout(done, intervalMs));
  }
}
