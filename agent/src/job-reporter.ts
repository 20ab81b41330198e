// job_progress / job_output for one running command: best effort (not durable), rate-limited
// progress, capped output so a chatty command cannot flood the link.
import type { JobReporter } from './commands/command.ts';

const PROGRESS_MIN_INTERVAL_MS = 500;
const MAX_LINE_CHARS = 4096;
const MAX_OUTPUT_BYTES = 1024 * 1024;

export function createJobReporter(
  ids: { jobId: string; commandId: string; agentId: string },
  send: (message: Record<string, unknown>) => void,
): JobReporter {
  let lastProgressAt = 0;
  let outputBytes = 0;
  let truncatedNoticeSent = false;
  const base = () => ({ job_id: ids.jobId, command_id: ids.commandId, agent_id: ids.agentId, timestamp: new Date().toISOString() });
  return {
    progress(update) {
      const now = Date.now();
      const progress = Math.min(100, Math.max(0, update.progress));
      if (progress < 100 && now - lastProgressAt < PROGRESS_MIN_INTERVAL_MS) return;
      lastProgressAt = now;
      send({ type: 'job_progress', ...base(), ...update, progress });
    },
    output(line, stream = 'stdout') {
      if (outputBytes >= MAX_OUTPUT_BYTES) {
        if (!truncatedNoticeSent) send({ type: 'job_output', ...base(), line: '[output truncated]', stream: 'stderr' });
        truncatedNoticeSent = true;
        return;
      }
      const capped = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
      outputBytes += Buffer.byteLength(capped);
      send({ type: 'job_output', ...base(), line: capped, stream });
    },
  };
}
