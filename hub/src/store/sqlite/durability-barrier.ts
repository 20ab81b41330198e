// The SQLite store's durability barrier: a group-committed batch is durable once this resolves. The database runs WAL with synchronous=NORMAL: a commit survives a hub
// crash at once, and survives power loss once the WAL is synced. Before the hub acks a result (after
// which the agent forgets it), it waits for such a sync. A checkpoint syncs the WAL first
// (sqlite.org/pragma.html#pragma_synchronous); it runs in a worker thread on its own connection, so
// the event loop never waits on the disk, and one checkpoint covers every result stored before it.
import { Worker } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from '@tether/shared/logger.ts';

// Plain JavaScript evaluated in the worker (no file to ship beside the bundle).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
process.removeAllListeners('warning');
const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = 5000');
parentPort.on('message', (id) => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ id, ok: true });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, error: String(error && error.message || error) });
  }
});
`;

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

export class DurabilityBarrier {
  readonly #log: Logger;
  readonly #db: DatabaseSync;
  readonly #worker: Worker;
  /** Once the worker has failed, checkpoints run on the main connection: slower, never stuck. */
  #workerDead = false;
  /** Waiters for the next checkpoint, not yet started. */
  #pending: Waiter[] = [];
  /** Waiters covered by the checkpoint in progress. */
  #inProgress: Waiter[] | null = null;
  #nextId = 0;

  constructor(db: DatabaseSync, databasePath: string, log: Logger) {
    this.#log = log;
    this.#db = db;
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: databasePath } });
    this.#worker.unref();
    this.#worker.on('message', (message: { ok: boolean; error?: string }) => this.#settle(message));
    this.#worker.on('error', (error) => this.#workerFailed(error.message));
    this.#worker.on('exit', (code) => this.#workerFailed(`exited with code ${code}`));
  }

  /** Resolves once everything committed before the call is on stable storage. */
  durable(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#startIfIdle();
    });
  }

  async close(): Promise<void> {
    this.#workerDead = true; // a terminated worker is not a failure
    await this.#worker.terminate();
  }

  #startIfIdle(): void {
    if (this.#inProgress || this.#pending.length === 0) return;
    this.#inProgress = this.#pending;
    this.#pending = [];
    if (!this.#workerDead) {
      this.#worker.postMessage(this.#nextId++);
      return;
    }
    try {
      this.#db.exec('PRAGMA wal_checkpoint(PASSIVE)');
      this.#settle({ ok: true });
    } catch (error) {
      this.#settle({ ok: false, error: (error as Error).message });
    }
  }

  #workerFailed(reason: string): void {
    if (this.#workerDead) return;
    this.#workerDead = true;
    this.#log.error({ reason }, 'checkpoint worker failed; checkpointing on the main thread from now on');
    // The checkpoint it was running may never answer: run it again here.
    if (this.#inProgress) {
      this.#pending = [...this.#inProgress, ...this.#pending];
      this.#inProgress = null;
    }
    this.#startIfIdle();
  }

  #settle(message: { ok: boolean; error?: string }): void {
    const covered = this.#inProgress ?? [];
    this.#inProgress = null;
    if (message.ok) for (const waiter of covered) waiter.resolve();
    else {
      this.#log.error({ error: message.error }, 'could not sync the database; results stay unacked and agents will re-send them');
      for (const waiter of covered) waiter.reject(new Error(message.error));
    }
    this.#startIfIdle();
  }
}
