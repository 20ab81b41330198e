// Fleet commands (POST /api/commands): one command to every key a selector picks, run within a
// concurrency limit. The store holds each target's state and starts targets atomically across
// hubs (store.ts, "Fleet commands"); this hub starts what may run now (targets whose agent is
// connected, on any hub), sends each started command like any other, starts more as results land,
// marks the rest offline, starts an offline target when its agent registers again, and expires
// what has not started by the deadline. Progress goes to SSE streams on every hub.
import { EventEmitter } from 'node:events';
import type { Logger } from '@tether/shared/logger.ts';
import type { KeySelector } from '@tether/shared/protocol/labels.ts';
import type { BatchRecord, BatchSummary, BatchTargetState, CommandRecord, HubStore } from '../store/store.ts';
import type { Presence } from '../presence.ts';
import type { SessionDirectory } from '../cluster/session-directory.ts';
import type { BatchProgress } from '../cluster/cluster-messages.ts';
import type { CommandRouter } from '../commands/command-router.ts';
import { sendIfGranted } from '../commands/send-if-granted.ts';
import { onlineKeys } from '../cluster/online-keys.ts';
import { CoalescedRuns } from '../coalesced-runs.ts';

export interface DispatcherDeps {
  store: HubStore;
  presence: Presence;
  directory: SessionDirectory;
  router: CommandRouter;
  log: Logger;
}

export interface NewFleetCommand {
  selector: KeySelector;
  command: string;
  data: Record<string, unknown>;
  concurrency: number;
  deadline_s?: number;
  timeout_s?: number;
}

/** How often this hub checks the deadlines of the batches it knows of. */
const SWEEP_MS = 2_000;
/** Summaries go out at most this often per batch (a burst of results is one summary). */
const SUMMARY_EVERY_MS = 250;

export class BatchDispatcher {
  readonly #deps: DispatcherDeps;
  readonly #progress = new EventEmitter();
  /** Batches this hub has seen that are not done yet (deadline sweeps, summaries). */
  readonly #active = new Set<string>();
  /** One advance per batch at a time; a request during one runs once more after it. */
  readonly #advancing: CoalescedRuns;
  readonly #summaryDue = new Map<string, NodeJS.Timeout>();
  readonly #sweep: NodeJS.Timeout;

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
    this.#advancing = new CoalescedRuns(
      (batchId) => this.#advanceOnce(batchId),
      (batchId, error) => deps.log.error({ batch_id: batchId, err: error.message }, 'could not advance a fleet command; the next result or sweep tries again'),
    );
    this.#progress.setMaxListeners(0);
    deps.router.onBatchCommandFinished((record, state) => this.#targetFinished(record, state));
    this.#sweep = setInterval(() => void this.#sweepDeadlines(), SWEEP_MS);
    this.#sweep.unref();
  }

  async create(input: NewFleetCommand): Promise<{ batch: BatchRecord; targets: number; summary: BatchSummary }> {
    const { batch, targets } = await this.#deps.store.createBatch({
      selector: input.selector,
      command: input.command,
      data: input.data,
      concurrency: input.concurrency,
      deadline: input.deadline_s === undefined ? null : new Date(Date.now() + input.deadline_s * 1000).toISOString(),
      timeout_s: input.timeout_s ?? null,
    });
    this.#deps.log.info({ batch_id: batch.batch_id, command: batch.command, targets, concurrency: batch.concurrency }, 'fleet command created');
    this.#active.add(batch.batch_id);
    await this.advance(batch.batch_id);
    return { batch, targets, summary: (await this.#deps.store.batchSummary(batch.batch_id))! };
  }

  /** An agent of this key registered (on this hub): batches waiting for it may start its target. */
  async agentBack(keyId: string): Promise<void> {
    for (const batchId of await this.#deps.store.waitingBatchesForKey(keyId)) {
      this.#active.add(batchId);
      await this.advance(batchId);
    }
  }

  /** Starts what may run now. Coalesced: calls during a running advance cause one more run. */
  advance(batchId: string): Promise<void> {
    return this.#advancing.run(batchId);
  }

  /** Progress of one batch (this hub's and, when clustered, every hub's). Returns the unsubscribe. */
  async follow(batchId: string, listener: (progress: BatchProgress) => void): Promise<() => void> {
    this.#progress.on(batchId, listener);
    // Only other hubs' messages count from Redis: this hub's own reach the listener locally.
    const stopRemote = this.#deps.directory.clustered
      ? await this.#deps.directory.followBatch(batchId, (progress) => {
          if (progress.from_hub !== this.#deps.directory.hubId) listener(progress);
        })
      : () => {};
    return () => {
      this.#progress.off(batchId, listener);
      stopRemote();
    };
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const timer of this.#summaryDue.values()) clearTimeout(timer);
  }

  async #advanceOnce(batchId: string): Promise<void> {
    const { store } = this.#deps;
    const batch = await store.getBatch(batchId);
    if (!batch) return;
    if ((await store.expireBatchTargets(batchId)) > 0) this.#summarySoon(batchId);
    const queued = (await store.listBatchTargets(batchId, 'queued')).map((target) => target.key_id);
    const offline = (await store.listBatchTargets(batchId, 'offline')).map((target) => target.key_id);
    if (queued.length + offline.length === 0) return this.#summarySoon(batchId);
    const online = await onlineKeys(this.#deps.presence, this.#deps.directory, [...queued, ...offline]);
    const gone = queued.filter((keyId) => !online.has(keyId));
    if (gone.length > 0 && (await store.markTargetsOffline(batchId, gone)) > 0) this.#summarySoon(batchId);
    if (online.size === 0) return;
    const started = await store.startBatchTargets(batchId, { limit: batch.concurrency, onlineKeyIds: [...online] });
    for (const record of started) this.#publish({ batch_id: batchId, key_id: record.key_id, state: 'running', command_id: record.command_id });
    await Promise.all(started.map((record) => sendIfGranted(this.#deps.store, this.#deps.router, record)));
    if (started.length > 0) this.#summarySoon(batchId);
  }

  #targetFinished(record: CommandRecord, state: BatchTargetState): void {
    const batchId = record.batch_id!;
    this.#active.add(batchId);
    this.#publish({ batch_id: batchId, key_id: record.key_id, state, command_id: record.command_id });
    this.#summarySoon(batchId);
    void this.advance(batchId);
  }

  #publish(progress: BatchProgress): void {
    const message = { ...progress, from_hub: this.#deps.directory.hubId };
    this.#progress.emit(progress.batch_id, message);
    this.#deps.directory.publishBatch(message);
  }

  #summarySoon(batchId: string): void {
    if (this.#summaryDue.has(batchId)) return;
    const timer = setTimeout(() => {
      this.#summaryDue.delete(batchId);
      void this.#deps.store.batchSummary(batchId).then(
        (summary) => {
          if (!summary) return;
          if (summary.done) this.#active.delete(batchId);
          this.#publish({ batch_id: batchId, summary: summary as unknown as Record<string, unknown> });
        },
        (error: Error) => this.#deps.log.warn({ batch_id: batchId, err: error.message }, 'could not read a fleet command summary'),
      );
    }, SUMMARY_EVERY_MS);
    timer.unref();
    this.#summaryDue.set(batchId, timer);
  }

  async #sweepDeadlines(): Promise<void> {
    for (const batchId of this.#active) {
      try {
        const batch = await this.#deps.store.getBatch(batchId);
        if (!batch) {
          this.#active.delete(batchId);
          continue;
        }
        if (batch.deadline !== null && Date.parse(batch.deadline) <= Date.now() && (await this.#deps.store.expireBatchTargets(batchId)) > 0) this.#summarySoon(batchId);
        else if ((await this.#deps.store.batchSummary(batchId))?.done) this.#active.delete(batchId);
      } catch (error) {
        this.#deps.log.warn({ batch_id: batchId, err: (error as Error).message }, 'could not check a fleet command deadline');
      }
    }
  }
}
