// Turns a running byte count into job progress, at most a few times a second.
import type { JobReporter } from '../commands/command.ts';

export function byteProgress(job: JobReporter, label: string, bytesTotal: number | undefined, intervalMs = 500): (bytes: number) => void {
  let last = 0;
  return (bytes) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    const progress = bytesTotal ? Math.min(99, Math.floor((bytes / bytesTotal) * 100)) : 0;
    job.progress({ progress, message: label, bytes_done: bytes, ...(bytesTotal ? { bytes_total: bytesTotal } : {}) });
  };
}
