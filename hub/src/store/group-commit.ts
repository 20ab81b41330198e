// Group commit: writes submitted while a batch commits (or within the same tick) share one
// transaction, and each submit resolves once its batch is durable. The engine supplies `commit`,
// which applies a batch in one transaction and returns each write's result plus a promise for
// the moment the batch is durable (SQLite syncs its WAL after the commit; PostgreSQL is durable
// at COMMIT). Only `commit` runs one at a time; durability waits of consecutive batches overlap.
// A write submitted with `durable: false` resolves at commit already: visible to every reader and
// safe from a crash of the process, only not yet synced (what a command row needs before it is sent;
// results are acked only once durable).

export interface CommittedBatch<R> {
  results: R[];
  durable: Promise<void>;
}

export interface GroupCommitOptions<W, R> {
  commit(writes: W[]): Promise<CommittedBatch<R>> | CommittedBatch<R>;
  /** A larger queue is split into several batches (bounds one transaction's size). */
  maxBatch?: number;
}

interface Pending<W, R> {
  write: W;
  /** False: resolve once committed (visible to every reader, survives a crash of the process), not synced. */
  durable: boolean;
  resolve(result: R): void;
  reject(error: Error): void;
}

export class GroupCommit<W, R> {
  readonly #commit: GroupCommitOptions<W, R>['commit'];
  readonly #maxBatch: number;
  #queue: Pending<W, R>[] = [];
  #running = false;
  #scheduled = false;
  #closed = false;
  #idle: Array<() => void> = [];
  /** Batches committed so far and writes in them (for benchmarks and tests). */
  readonly stats = { batches: 0, writes: 0 };

  constructor(options: GroupCommitOptions<W, R>) {
    this.#commit = options.commit;
    this.#maxBatch = options.maxBatch ?? 5000;
  }

  submit(write: W, options: { durable?: boolean } = {}): Promise<R> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ write, durable: options.durable ?? true, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves once everything submitted so far has committed (not necessarily synced). */
  flushed(): Promise<void> {
    if (!this.#running && !this.#scheduled && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Refuses new writes and waits for the queued ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flushed();
  }

  #schedule(): void {
    if (this.#running || this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: writes from every I/O callback of this loop turn join in.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      if (await this.#commitBatch(batch)) continue;
      // One bad write must not fail its neighbours: commit each alone, so only it fails.
      if (batch.length > 1) for (const pending of batch) await this.#commitBatch([pending]);
    }
    this.#running = false;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** False when the transaction failed (a single write is rejected with the error then). */
  async #commitBatch(batch: Pending<W, R>[]): Promise<boolean> {
    let committed: CommittedBatch<R>;
    try {
      committed = await this.#commit(batch.map((pending) => pending.write));
      if (committed.results.length !== batch.length) throw new Error(`group commit returned ${committed.results.length} results for ${batch.length} writes`);
    } catch (error) {
      if (batch.length === 1) batch[0]!.reject(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
    this.stats.batches += 1;
    this.stats.writes += batch.length;
    for (const [index, pending] of batch.entries()) if (!pending.durable) pending.resolve(committed.results[index]!);
    committed.durable.then(
      () => {
        for (const [index, pending] of batch.entries()) if (pending.durable) pending.resolve(committed.results[index]!);
      },
      (error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const pending of batch) if (pending.durable) pending.reject(failure);
      },
    );
    return true;
  }
}
