// Two lanes: priority work starts at once and never waits behind normal work; the normal lane has
// a fixed number of workers and a bounded queue (full → the caller answers `busy`).

export interface LaneJob {
  id: string;
  /** Starts the work; the slot is held until the promise settles. */
  start(): Promise<void>;
}

export type Admission = { accepted: true; position: number } | { accepted: false };

export interface LaneOptions {
  workers: number;
  maxQueued: number;
}

export class Lanes {
  #workers: number;
  #maxQueued: number;
  #queue: LaneJob[] = [];
  #normalRunning = 0;
  #priorityRunning = 0;

  constructor(options: LaneOptions) {
    this.#workers = options.workers;
    this.#maxQueued = options.maxQueued;
  }

  get normalRunning(): number {
    return this.#normalRunning;
  }
  get priorityRunning(): number {
    return this.#priorityRunning;
  }
  get queued(): number {
    return this.#queue.length;
  }

  submitPriority(job: LaneJob): Admission {
    this.#priorityRunning += 1;
    setImmediate(
      () =>
        void this.#run(job).finally(() => {
          this.#priorityRunning -= 1;
        }),
    );
    return { accepted: true, position: 0 };
  }

  /** Position 0 means it started at once; n means n-th in the queue. */
  submitNormal(job: LaneJob): Admission {
    if (this.#normalRunning < this.#workers) {
      this.#startNormal(job);
      return { accepted: true, position: 0 };
    }
    if (this.#queue.length >= this.#maxQueued) return { accepted: false };
    this.#queue.push(job);
    return { accepted: true, position: this.#queue.length };
  }

  /** Removes a job that has not started yet; false if it is not queued. */
  removeQueued(id: string): boolean {
    const index = this.#queue.findIndex((job) => job.id === id);
    if (index < 0) return false;
    this.#queue.splice(index, 1);
    return true;
  }

  /** Starts on the next tick, so the caller's job_accepted always goes out before the response. */
  #startNormal(job: LaneJob): void {
    this.#normalRunning += 1;
    setImmediate(
      () =>
        void this.#run(job).finally(() => {
          this.#normalRunning -= 1;
          const next = this.#queue.shift();
          if (next) this.#startNormal(next);
        }),
    );
  }

  async #run(job: LaneJob): Promise<void> {
    try {
      await job.start();
    } catch {
      // start() reports its own failures; a lane must keep going whatever a job does.
    }
  }
}
