// job_progress / job_output for one running command: best effort (not durable), rate-limited
// progress and output, capped lines and total output, so a chatty command cannot flood the link.
import type { JobEvent } from '@tether/shared/protocol/agent-messages.ts';
import type { JobReporter } from './commands/command.ts';

const PROGRESS_MIN_INTERVAL_MS = 500;
const MAX_LINE_CHARS = 4096;
const MAX_OUTPUT_BYTES = 1024 * 1024;
/** Output lines sent per second per command; beyond that lines are skipped (one notice per second). */
const MAX_OUTPUT_LINES_PER_S = 500;

export interface JobReporterLimits {
  maxOutputBytes?: number;
  maxLinesPerS?: number;
}

export function createJobReporter(ids: { jobId: string; commandId: string; agentId: string }, send: (message: JobEvent) => void, limits: JobReporterLimits = {}): JobReporter {
  const maxOutputBytes = limits.maxOutputBytes ?? MAX_OUTPUT_BYTES;
  const maxLinesPerS = limits.maxLinesPerS ?? MAX_OUTPUT_LINES_PER_S;
  let lastProgressAt = 0;
  let outputBytes = 0;
  let truncatedNoticeSent = false;
  let windowStart = 0;
  let linesInWindow = 0;
  let skippedNoticeSent = false;
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
      if (outputBytes >= maxOutputBytes) {
        if (!truncatedNoticeSent) send({ type: 'job_output', ...base(), line: '[output truncated]', stream: 'stderr' });
        truncatedNoticeSent = true;
        return;
      }
      const now = Date.now();
      if (now - windowStart >= 1000) {
        windowStart = now;
        linesInWindow = 0;
        skippedNoticeSent = false;
      }
      if (linesInWindow >= maxLinesPerS) {
        if (!skippedNoticeSent) send({ type: 'job_output', ...base(), line: `[output rate limit: more than ${maxLinesPerS} lines/s; lines skipped until the next second]`, stream: 'stderr' });
        skippedNoticeSent = true;
        return;
      }
      linesInWindow += 1;
      const capped = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
      outputBytes += Buffer.byteLength(capped);
      send({ type: 'job_output', ...base(), line: capped, stream });
    },
  };
}
