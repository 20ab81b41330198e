// Routes commands from the admin API to agents and results back: queue durably, send now over
// the agent's socket (or wake its long poll), store the first result, stream job events. Every
// write goes through the store's group commit; a result's promise resolves once its batch is
// durable, which is when the hub may ack it.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from '@tether/shared/logger.ts';
import type { ResponseMessage, JobEvent } from '@tether/shared/protocol/agent-messages.ts';
import type { BatchTargetState, CommandRecord, HubStore, StoredEvent } from '../store/store.ts';
import type { AgentSession, Presence } from '../presence.ts';
import type { SessionDirectory } from '../cluster/session-directory.ts';
import type { SignedFrames } from './signed-frames.ts';
import type { WindowCounter } from '../limits/window-counter.ts';
import { pauseForTest } from '@tether/shared/release/test-pause.ts';

/** Commands remembered per socket as sent (see rememberSent). */
const SENT_IDS_KEPT = 1024;

export interface QueueRequest {
  command: string;
  data?: Record<string, unknown>;
  timeout_s?: number;
  /** Seconds from now after which the command must not start. */
  deadline_s?: number;
}

export interface CommandRouterDeps {
  store: HubStore;
  presence: Presence;
  /** Sessions on other hubs (Redis when clustered): commands for them are routed there. */
  directory: SessionDirectory;
  frames: SignedFrames;
  log: Logger;
  /** A command handed to a poll and not answered is offered again after this long. */
  httpReofferMs: number;
  /** Scheduled results stored per key per hour (issue 9 item 10). */
  scheduledResults: WindowCounter;
  /** Longer job output lines and progress messages are cut to this many characters. */
  eventLineMaxChars: number;
}

/**
 * Why a response was not stored. `final`: it never will be (the agent may forget it: acked, or a 4xx
 * the agent drops); otherwise the agent keeps it and sends it again later (no ack, or a 429).
 */
export interface ResultRefusal {
  status: 422 | 429;
  message: string;
  final: boolean;
}

export interface ResultOutcome {
  stored: boolean;
  refusal?: ResultRefusal;
}

/** Ids of results for work an agent started by itself (scheduled backups). */
export const AGENT_INITIATED_ID = /^scheduled:[0-9a-f-]{36}$/;

export type EventOutcome = 'stored' | 'dropped' | 'ignored';

/** Command rows and sent marks wait for their commit, not the sync after it (results wait for both). */
const COMMITTED = { durable: false } as const;

export class CommandRouter {
  private readonly deps: CommandRouterDeps;
  private readonly signals = new EventEmitter();

  constructor(deps: CommandRouterDeps) {
    this.deps = deps;
    this.signals.setMaxListeners(0);
  }

  /** Stores the command durably, then sends it (or wakes the key's long poll). */
  async queue(keyId: string, request: QueueRequest): Promise<CommandRecord> {
    const record: CommandRecord = {
      command_id: randomUUID(),
      key_id: keyId,
      command: request.command,
      data: request.data ?? {},
      status: 'queued',
      created_at: new Date().toISOString(),
      sent_at: null,
      sent_via: null,
      completed_at: null,
      deadline: request.deadline_s === undefined ? null : new Date(Date.now() + request.deadline_s * 1000).toISOString(),
      timeout_s: request.timeout_s ?? null,
      result: null,
      batch_id: null,
    };
    // Committed, not yet synced, before it is sent: it survives a crash of the hub; only its result
    // needs to be durable before the agent may forget it (the ack).
    await this.deps.store.insertCommand(record, COMMITTED);
    // Debug, as the result line below: at thousands of commands a second, two info lines each cost
    // the hub more than storing them (the audit log keeps every command and its outcome).
    this.deps.log.debug({ command_id: record.command_id, key_id: keyId, command: record.command }, 'command queued');
    const session = this.deps.presence.websocketSessionFor(keyId);
    // The answer waits for the sent mark too: whoever learns the command id (to cancel it, say)
    // finds the store saying where the command is.
    if (session) await this.deliver(session, record);
    else {
      this.signals.emit(`ready:${keyId}`);
      if (this.deps.directory.clustered) await this.#route(keyId, record.command_id);
    }
    return (await this.deps.store.getCommand(record.command_id)) ?? record;
  }

  /** To the hub holding the key's socket, or a wake-up for its long poll on any hub. */
  async #route(keyId: string, commandId: string): Promise<void> {
    try {
      const outcome = await this.deps.directory.route(keyId, commandId);
      this.deps.log.debug({ command_id: commandId, key_id: keyId, outcome }, 'command routed');
    } catch (error) {
      // Stored all the same: the agent gets it at its next registration or poll.
      this.deps.log.warn({ command_id: commandId, key_id: keyId, err: (error as Error).message }, 'could not route a command to another hub; it waits in the store');
    }
  }

  /** A command of a fleet batch got its result (or expired) through this hub. */
  onBatchCommandFinished(listener: (record: CommandRecord, state: BatchTargetState) => void): void {
    this.signals.on('batch-finished', listener);
  }

  /** A command already in the store (a fleet target's): send it now, or route / wake for it. */
  async sendStored(record: CommandRecord): Promise<void> {
    const session = this.deps.presence.websocketSessionFor(record.key_id);
    if (session) return this.deliver(session, record);
    this.signals.emit(`ready:${record.key_id}`);
    if (this.deps.directory.clustered) await this.#route(record.key_id, record.command_id);
  }

  /** Another hub stored a command for a socket this hub holds: send it, if it still waits. */
  async deliverStored(keyId: string, commandId: string): Promise<void> {
    const session = this.deps.presence.websocketSessionFor(keyId);
    if (!session) return;
    const record = await this.deps.store.getCommand(commandId);
    if (!record || record.key_id !== keyId || record.result !== null || (record.status !== 'queued' && record.status !== 'sent')) return;
    await this.deliver(session, record);
  }

  /** After a (re)registration: every unanswered command of the key goes to this socket. */
  async resendUnanswered(session: AgentSession): Promise<void> {
    // Test hook, per hostname (deliver-once.test.ts): a command is started for the agent meanwhile.
    await pauseForTest(`hub:resend:${session.hostname}`);
    const records = await this.deps.store.unanswered(session.keyId);
    await Promise.all(records.map((record) => this.deliver(session, record)));
  }

  /** The commands a poll should carry now; marks them sent. */
  async takeForPoll(session: AgentSession): Promise<Record<string, unknown>[]> {
    const offerAll = session.offerAllOnNextPoll === true;
    session.offerAllOnNextPoll = false;
    const frames: Record<string, unknown>[] = [];
    const marks: Promise<unknown>[] = [];
    for (const record of await this.deps.store.unanswered(session.keyId)) {
      if (record.status === 'sent' && !offerAll && !this.dueForReoffer(record)) continue;
      if (this.expireIfLate(record, marks)) continue;
      frames.push(this.frameFor(session, record));
      marks.push(this.deps.store.markSent(record.command_id, 'http_polling', COMMITTED));
    }
    // Marked before the answer leaves: a poll on another connection does not get them again at once.
    await Promise.all(marks);
    return frames;
  }

  /** Wakes this key's waiting long poll (a changed grant goes out with its answer). */
  wake(keyId: string): void {
    this.signals.emit(`ready:${keyId}`);
  }

  /** Resolves when a command may be ready for this key's poll, or after timeoutMs. */
  waitForWork(keyId: string, timeoutMs: number, abort: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.signals.off(`ready:${keyId}`, done);
        abort.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.signals.on(`ready:${keyId}`, done);
      abort.addEventListener('abort', done);
    });
  }

  /**
   * Stores a response once. Resolves once the result (or the first one, for a duplicate) is
   * durable: then the agent may be acked. `stored` is false for duplicates, unknown command ids
   * and refusals.
   */
  async recordResult(keyId: string, response: Omit<ResponseMessage, 'type'>): Promise<ResultOutcome> {
    return (await this.submitResult(keyId, response)).settled;
  }

  /**
   * recordResult in two steps: resolves once the result is submitted to the group commit (so
   * results of one connection are submitted in the order they came: the first of two copies wins);
   * `settled` resolves once it is durable.
   */
  async submitResult(keyId: string, response: Omit<ResponseMessage, 'type'>): Promise<{ settled: Promise<ResultOutcome> }> {
    let record = await this.deps.store.getCommand(response.command_id);
    if (!record && AGENT_INITIATED_ID.test(response.command_id)) {
      const refusal = await this.#refuseAgentInitiated(keyId);
      if (refusal) {
        this.deps.log.warn({ command_id: response.command_id, key_id: keyId, why: refusal.message }, 'scheduled backup result refused');
        return { settled: Promise.resolve({ stored: false, refusal }) };
      }
      record = await this.#agentInitiated(keyId, response);
    }
    if (!record || record.key_id !== keyId) {
      this.deps.log.warn({ command_id: response.command_id, key_id: keyId }, 'response for a command this key was never sent; ignored');
      return { settled: Promise.resolve({ stored: false }) };
    }
    const command = record;
    const result: Record<string, unknown> = {
      success: response.success,
      data: response.data ?? {},
      ...(response.error ? { error: response.error } : {}),
      ...(response.error_code ? { error_code: response.error_code } : {}),
      ...(response.duration_ms !== undefined ? { duration_ms: response.duration_ms } : {}),
      ...(response.agent_id ? { agent_id: response.agent_id } : {}),
    };
    // Committed, the result is there for everyone waiting on it; the agent is acked only once it
    // is durable too (`settled`).
    const settled = this.deps.store.completeCommand({ command_id: command.command_id, key_id: keyId, result, success: response.success }, COMMITTED).then(async (stored) => {
      if (stored) {
        this.deps.log.debug({ command_id: command.command_id, success: response.success }, 'command result stored');
        this.#done(command.command_id);
        if (command.batch_id !== null) this.signals.emit('batch-finished', command, response.success ? 'succeeded' : 'failed');
        this.signals.emit('finished', command, result);
      } else {
        this.deps.log.debug({ command_id: command.command_id }, 'duplicate response ignored');
      }
      await this.deps.store.durable();
      return { stored };
    });
    return { settled };
  }

  /**
   * Work the agent started by itself (a scheduled backup) reports under an id it made,
   * `scheduled:<uuid>`; it is recorded as a completed `backup` of that key. Any other unknown id is
   * not ours to store.
   */
  async #agentInitiated(keyId: string, response: Omit<ResponseMessage, 'type'>): Promise<CommandRecord | undefined> {
    const target = typeof response.data?.target === 'string' ? response.data.target : undefined;
    const commandId = response.command_id;
    // Another hub (or a resend) may insert the same id at once: whichever row exists is the one.
    await this.deps.store.insertCommand({ command_id: commandId, key_id: keyId, command: 'backup', data: { target, scheduled: true }, deadline: null, timeout_s: null }, COMMITTED);
    await this.deps.store.markSent(commandId, 'agent', COMMITTED);
    this.deps.log.info({ command_id: commandId, key_id: keyId, target }, 'scheduled backup reported by the agent');
    return this.deps.store.getCommand(commandId);
  }

  /** Only keys granted `backup` store scheduled backup results, and only so many an hour. */
  async #refuseAgentInitiated(keyId: string): Promise<ResultRefusal | undefined> {
    const key = await this.deps.store.getKey(keyId);
    if (!key?.permissions.includes('backup')) {
      return {
        status: 422,
        final: true,
        message: `permission_denied: agent key ${keyId} is not granted "backup", so its scheduled backup results are not stored; grant it with PATCH /api/agents/keys/${keyId} {"permissions": [..., "backup"]}`,
      };
    }
    const taken = this.deps.scheduledResults.take(keyId);
    if (!taken.ok) {
      return {
        status: 429,
        final: false,
        message: `agent key ${keyId} sent more scheduled backup results than the hub stores per hour (--max-scheduled-results-per-hour); send it again in ${Math.ceil(taken.retryInMs / 1000)} s`,
      };
    }
    return undefined;
  }

  /**
   * Stores job events of commands of this key, in the order given. Resolves once they are
   * submitted (commands looked up, appends queued in order); `outcomes` resolves once they are
   * durable: 'dropped' for an event past its command's cap, 'ignored' for another key's command.
   */
  async submitEvents(keyId: string, events: readonly JobEvent[]): Promise<{ outcomes: Promise<EventOutcome[]> }> {
    const ids = [...new Set(events.map((event) => event.command_id ?? event.job_id))];
    const records = new Map(await Promise.all(ids.map(async (id) => [id, await this.deps.store.getCommand(id)] as const)));
    const outcomes = events.map(async (event): Promise<EventOutcome> => {
      const commandId = event.command_id ?? event.job_id;
      const record = records.get(commandId);
      if (!record || record.key_id !== keyId) {
        this.deps.log.debug({ command_id: commandId, type: event.type }, 'job event for an unknown command; ignored');
        return 'ignored';
      }
      const { type, ...fields } = this.#bounded(event);
      const stored = await this.deps.store.appendEvent(commandId, type, fields);
      if (!stored) return 'dropped';
      this.signals.emit(`event:${commandId}`, stored);
      this.deps.directory.publish({ type: 'event', command_id: commandId, event: stored });
      return 'stored';
    });
    return { outcomes: Promise.all(outcomes) };
  }

  /** An output line or progress message past the limit is cut, and says how much was cut. */
  #bounded(event: JobEvent): JobEvent {
    const max = this.deps.eventLineMaxChars;
    if (event.type === 'job_output' && event.line.length > max) return { ...event, line: event.line.slice(0, max), truncated_chars: event.line.length - max } as JobEvent;
    if (event.type === 'job_progress' && event.message !== undefined && event.message.length > max)
      return { ...event, message: event.message.slice(0, max), truncated_chars: event.message.length - max } as JobEvent;
    return event;
  }

  /** The stored command once it has a result (or expired), or as it is after timeoutMs. */
  async waitForResult(commandId: string, timeoutMs: number): Promise<CommandRecord | undefined> {
    const finished = (record: CommandRecord | undefined) => !record || record.result !== null || record.status === 'expired';
    // Listening before the read: a result stored while the read runs is not missed.
    let signalled = false;
    let wake: () => void = () => {};
    const onDone = () => {
      signalled = true;
      wake();
    };
    this.signals.on(`done:${commandId}`, onDone);
    // A result stored through another hub is heard of too (listening before the read, as above).
    const stopFollowing = this.deps.directory.clustered && timeoutMs > 0 ? await this.#followRemote(commandId, () => undefined, onDone) : () => {};
    try {
      const current = await this.deps.store.getCommand(commandId);
      if (finished(current) || timeoutMs <= 0) return current;
      if (!signalled) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return await this.deps.store.getCommand(commandId);
    } finally {
      this.signals.off(`done:${commandId}`, onDone);
      stopFollowing();
    }
  }

  /** This command's result is stored (or it expired): local waiters, and other hubs', hear of it. */
  #done(commandId: string): void {
    this.signals.emit(`done:${commandId}`);
    this.deps.directory.publish({ type: 'done', command_id: commandId });
  }

  /** Result and job events of a command stored on other hubs; a Redis failure only means slower waits. */
  async #followRemote(commandId: string, onEvent: (event: StoredEvent) => void, onDone: () => void): Promise<() => void> {
    try {
      return await this.deps.directory.follow(commandId, (update) => (update.type === 'done' ? onDone() : onEvent(update.event)));
    } catch (error) {
      this.deps.log.warn({ command_id: commandId, err: (error as Error).message }, 'could not follow a command across hubs');
      return () => {};
    }
  }

  /** Every command as it finishes: its record as it was, and the stored result (null: it expired). For metrics. */
  onFinished(listener: (record: CommandRecord, result: Record<string, unknown> | null) => void): void {
    this.signals.on('finished', listener);
  }

  /** Live job events and completion of one command, for SSE. Returns the unsubscribe function. */
  subscribe(commandId: string, onEvent: (event: StoredEvent) => void, onDone: () => void): () => void {
    this.signals.on(`event:${commandId}`, onEvent);
    this.signals.on(`done:${commandId}`, onDone);
    // Other hubs' news arrives once the subscription is up; the stream reads the store at the end anyway.
    let stopRemote: (() => void) | undefined;
    let stopped = false;
    if (this.deps.directory.clustered) {
      void this.#followRemote(commandId, onEvent, onDone).then((stop) => (stopped ? stop() : (stopRemote = stop)));
    }
    return () => {
      stopped = true;
      stopRemote?.();
      this.signals.off(`event:${commandId}`, onEvent);
      this.signals.off(`done:${commandId}`, onDone);
    };
  }

  private async deliver(session: AgentSession, record: CommandRecord): Promise<void> {
    // Once per socket: a fleet target started while its agent registers is sent by the dispatcher
    // and found again by resendUnanswered (a routed `deliver` can race them too).
    if (session.sentCommandIds?.has(record.command_id)) return;
    const marks: Promise<unknown>[] = [];
    if (!this.expireIfLate(record, marks) && session.send?.(this.frameFor(session, record))) {
      rememberSent(session, record.command_id);
      marks.push(this.deps.store.markSent(record.command_id, 'websocket', COMMITTED));
    }
    await Promise.all(marks);
  }

  /** True when the deadline has passed: the command is marked expired (the write joins `marks`). */
  private expireIfLate(record: CommandRecord, marks: Promise<unknown>[]): boolean {
    if (record.deadline === null || Date.parse(record.deadline) > Date.now()) return false;
    marks.push(
      this.deps.store.markExpired(record.command_id).then((expired) => {
        if (expired) this.deps.log.info({ command_id: record.command_id }, 'command expired before delivery');
        this.#done(record.command_id);
        if (expired) this.signals.emit('finished', record, null);
        if (expired && record.batch_id !== null) this.signals.emit('batch-finished', record, 'expired');
      }),
    );
    return true;
  }

  private dueForReoffer(record: CommandRecord): boolean {
    // A command with its own timeout gets that long (plus slack) before it is offered again.
    const waitMs = record.timeout_s === null ? this.deps.httpReofferMs : Math.max(this.deps.httpReofferMs, (record.timeout_s + 30) * 1000);
    return record.sent_at === null || Date.parse(record.sent_at) + waitMs <= Date.now();
  }

  /** The wire form, signed at send time for the scheme this session announced. */
  private frameFor(session: AgentSession, record: CommandRecord): Record<string, unknown> {
    return this.deps.frames.command(session, record);
  }
}

/**
 * Remembers a command sent on a socket. Kept after its result too: the fleet dispatcher sends from
 * the record it started, and the registration's resend may have sent and the agent answered it
 * meanwhile. The oldest go first past SENT_IDS_KEPT (such a record is milliseconds old), so a
 * long-lived session's memory stays flat.
 */
function rememberSent(session: AgentSession, commandId: string): void {
  const sent = (session.sentCommandIds ??= new Set());
  sent.add(commandId);
  if (sent.size > SENT_IDS_KEPT) sent.delete(sent.values().next().value!);
}
