// Group commit for acks. The database runs WAL with synchronous=NORMAL: a commit survives a hub
// crash at once, and survives power loss once the WAL is synced. Before the hub acks a result (after
// which the agent forgets it), it waits for such a sync: one checkpoint per event-loop turn covers
// every result stored in that turn, so acks cost one fsync per batch instead of one per commit.
import type { Logger } from '@tether/shared/logger.ts';
import type { Database } from './database.ts';

export class DurabilityBarrier {
  readonly #db: Database;
  readonly #log: Logger;
  #waiting: Array<{ resolve(): void; reject(error: Error): void }> = [];
  #scheduled = false;

  constructor(db: Database, log: Logger) {
    this.#db = db;
    this.#log = log;
  }

  /** Resolves once everything committed before the call is on stable storage. */
  durable(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    try {
      // With synchronous=NORMAL, SQLite syncs the WAL before every checkpoint (sqlite.org/pragma.html#pragma_synchronous).
      this.#db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    } catch (error) {
      this.#log.error({ err: error }, 'could not sync the database; results stay unacked and agents will re-send them');
      for (const waiter of waiting) waiter.reject(error as Error);
      return;
    }
    for (const waiter of waiting) waiter.resolve();
  }
}
