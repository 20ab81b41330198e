// Job events (job_accepted, job_progress, job_output) produced while the link to the hub is down,
// kept per job and sent once the session is registered again, in order. Bounded: the last
// perJobBytes of output per job and totalBytes over all jobs; where lines had to be dropped, a
// marker `job_output` line (with `dropped: { lines, bytes }`) takes their place, so an operator's
// view of a job is complete or says it is not. Progress keeps only the latest value per job.
import type { JobAcceptedMessage, JobEvent, JobOutputMessage, JobProgressMessage } from '@tether/shared/protocol/agent-messages.ts';

export interface JobEventLimits {
  /** Output kept per job (the newest; older lines are dropped first). */
  perJobBytes: number;
  /** Output kept over all jobs; beyond it the largest job loses its oldest lines. */
  totalBytes: number;
}

export const DEFAULT_JOB_EVENT_LIMITS: JobEventLimits = { perJobBytes: 1024 * 1024, totalBytes: 4 * 1024 * 1024 };

/** What an event costs in memory besides its text (object, timestamps, ids): counted against the bounds. */
const EVENT_OVERHEAD_BYTES = 160;

interface JobBuffer {
  accepted: JobAcceptedMessage | null;
  progress: JobProgressMessage | null;
  /** Dropped lines leave a hole until the array is compacted. */
  output: Array<{ event: JobOutputMessage; bytes: number } | undefined>;
  /** Index of the first line not yet dropped (lines are dropped from the front). */
  head: number;
  bytes: number;
  dropped: { lines: number; bytes: number };
  sample: JobEvent;
}

export class JobEventBuffer {
  #limits: JobEventLimits;
  #jobs = new Map<string, JobBuffer>();
  #bytes = 0;

  constructor(limits: JobEventLimits = DEFAULT_JOB_EVENT_LIMITS) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#jobs.size;
  }

  /** Output bytes held (text plus overhead), for tests and the bound. */
  get bytes(): number {
    return this.#bytes;
  }

  add(event: JobEvent): void {
    const key = event.command_id ?? event.job_id;
    let job = this.#jobs.get(key);
    if (!job) {
      job = { accepted: null, progress: null, output: [], head: 0, bytes: 0, dropped: { lines: 0, bytes: 0 }, sample: event };
      this.#jobs.set(key, job);
    }
    if (event.type === 'job_accepted') job.accepted = event;
    else if (event.type === 'job_progress') job.progress = event;
    else this.#addLine(job, event);
  }

  /** Everything held, job by job (accepted, then a marker if lines were dropped, the lines, the latest progress); empties the buffer. */
  drain(): JobEvent[] {
    const events: JobEvent[] = [];
    for (const job of this.#jobs.values()) {
      if (job.accepted) events.push(job.accepted);
      if (job.dropped.lines > 0) events.push(droppedMarker(job));
      for (let index = job.head; index < job.output.length; index += 1) events.push(job.output[index]!.event);
      if (job.progress) events.push(job.progress);
    }
    this.#jobs.clear();
    this.#bytes = 0;
    return events;
  }

  #addLine(job: JobBuffer, event: JobOutputMessage): void {
    const bytes = Buffer.byteLength(event.line) + EVENT_OVERHEAD_BYTES;
    job.output.push({ event, bytes });
    job.bytes += bytes;
    this.#bytes += bytes;
    while (job.bytes > this.#limits.perJobBytes && this.#dropOldest(job)) {
      /* dropped one */
    }
    while (this.#bytes > this.#limits.totalBytes) {
      let largest: JobBuffer | null = null;
      for (const candidate of this.#jobs.values()) if (!largest || candidate.bytes > largest.bytes) largest = candidate;
      if (!largest || !this.#dropOldest(largest)) break;
    }
  }

  #dropOldest(job: JobBuffer): boolean {
    const oldest = job.output[job.head];
    if (!oldest) return false;
    job.output[job.head] = undefined; // let the line go
    job.head += 1;
    job.bytes -= oldest.bytes;
    this.#bytes -= oldest.bytes;
    job.dropped.lines += 1;
    job.dropped.bytes += Buffer.byteLength(oldest.event.line);
    // Compact now and then, so a long outage does not keep a long array of holes.
    if (job.head > 1024 && job.head * 2 > job.output.length) {
      job.output = job.output.slice(job.head);
      job.head = 0;
    }
    return true;
  }
}

function droppedMarker(job: JobBuffer): JobOutputMessage {
  const { lines, bytes } = job.dropped;
  return {
    type: 'job_output',
    job_id: job.sample.job_id,
    command_id: job.sample.command_id,
    agent_id: job.sample.agent_id,
    timestamp: new Date().toISOString(),
    stream: 'stderr',
    line: `[tether: ${lines} earlier line${lines === 1 ? '' : 's'} (${bytes} bytes) of output dropped while the link to the hub was down]`,
    dropped: { lines, bytes },
  };
}
