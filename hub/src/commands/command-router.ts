// Routes commands from the admin API to agents and results back: queue durably, send now over
// the agent's socket (or wake its long poll), store the first result, stream job events.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from '@tether/shared/logger.ts';
import type { ResponseMessage, JobEvent } from '@tether/shared/protocol/agent-messages.ts';
import type { CommandStore, CommandRecord } from '../storage/command-store.ts';
import type { EventStore, StoredEvent } from '../storage/event-store.ts';
import type { AgentSession, Presence } from '../presence.ts';
import type { SignedFrames } from './signed-frames.ts';
import type { DurabilityBarrier } from '../storage/durability.ts';
import type { KeyStore } from '../storage/key-store.ts';
import type { WindowCounter } from '../limits/window-counter.ts';

export interface QueueRequest {
  command: string;
  data?: Record<string, unknown>;
  timeout_s?: number;
  /** Seconds from now after which the command must not start. */
  deadline_s?: number;
}

export interface CommandRouterDeps {
  commands: CommandStore;
  events: EventStore;
  presence: Presence;
  frames: SignedFrames;
  log: Logger;
  /** A command handed to a poll and not answered is offered again after this long. */
  httpReofferMs: number;
  /** Acks wait for stored results to reach stable storage. */
  durability: DurabilityBarrier;
  /** The current grant of a key (results of scheduled backups need `backup`). */
  keys: KeyStore;
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

/** Ids of results for work an agent started by itself (scheduled backups). */
export const AGENT_INITIATED_ID = /^scheduled:[0-9a-f-]{36}$/;

export class CommandRouter {
  /** Resolves once every result recorded so far is on stable storage: only then may it be acked. */
  durable(): Promise<void> {
    return this.deps.durability.durable();
  }

  private readonly deps: CommandRouterDeps;
  private readonly signals = new EventEmitter();

  constructor(deps: CommandRouterDeps) {
    this.deps = deps;
    this.signals.setMaxListeners(0);
  }

  queue(keyId: string, request: QueueRequest): CommandRecord {
    const record = this.deps.commands.insert({
      command_id: randomUUID(),
      key_id: keyId,
      command: request.command,
      data: request.data ?? {},
      deadline: request.deadline_s === undefined ? null : new Date(Date.now() + request.deadline_s * 1000).toISOString(),
      timeout_s: request.timeout_s ?? null,
    });
    this.deps.log.info({ command_id: record.command_id, key_id: keyId, command: record.command }, 'command queued');
    const socket = this.deps.presence.socketFor(keyId);
    if (socket) this.deliver(socket, record);
    else this.signals.emit(`ready:${keyId}`);
    return this.deps.commands.get(record.command_id)!;
  }

  /** After a (re)registration: every unanswered command of the key goes to this socket. */
  resendUnanswered(session: AgentSession): void {
    for (const record of this.deps.commands.unanswered(session.keyId)) this.deliver(session, record);
  }

  /** The commands a poll should carry now; marks them sent. */
  takeForPoll(session: AgentSession): Record<string, unknown>[] {
    const offerAll = session.offerAllOnNextPoll === true;
    session.offerAllOnNextPoll = false;
    const frames: Record<string, unknown>[] = [];
    for (const record of this.deps.commands.unanswered(session.keyId)) {
      if (record.status === 'sent' && !offerAll && !this.dueForReoffer(record)) continue;
      if (this.expireIfLate(record)) continue;
      frames.push(this.frameFor(session, record));
      this.deps.commands.markSent(record.command_id, 'http_polling');
    }
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

  /** Stores a response once. `stored` is false for duplicates, unknown command ids and refusals. */
  recordResult(keyId: string, response: Omit<ResponseMessage, 'type'>): { stored: boolean; refusal?: ResultRefusal } {
    let record = this.deps.commands.get(response.command_id);
    if (!record && AGENT_INITIATED_ID.test(response.command_id)) {
      const refusal = this.#refuseAgentInitiated(keyId);
      if (refusal) {
        this.deps.log.warn({ command_id: response.command_id, key_id: keyId, why: refusal.message }, 'scheduled backup result refused');
        return { stored: false, refusal };
      }
      record = this.#agentInitiated(keyId, response);
    }
    if (!record || record.key_id !== keyId) {
      this.deps.log.warn({ command_id: response.command_id, key_id: keyId }, 'response for a command this key was never sent; ignored');
      return { stored: false };
    }
    const result: Record<string, unknown> = {
      success: response.success,
      data: response.data ?? {},
      ...(response.error ? { error: response.error } : {}),
      ...(response.error_code ? { error_code: response.error_code } : {}),
      ...(response.duration_ms !== undefined ? { duration_ms: response.duration_ms } : {}),
      ...(response.agent_id ? { agent_id: response.agent_id } : {}),
    };
    const stored = this.deps.commands.complete(record.command_id, result, response.success);
    if (stored) {
      this.deps.log.info({ command_id: record.command_id, success: response.success }, 'command result stored');
      this.signals.emit(`done:${record.command_id}`);
      this.signals.emit('finished', record, result);
    } else {
      this.deps.log.debug({ command_id: record.command_id }, 'duplicate response ignored');
    }
    return { stored };
  }

  /**
   * Work the agent started by itself (a scheduled backup) reports under an id it made,
   * `scheduled:<uuid>`; it is recorded as a completed `backup` of that key. Any other unknown id is
   * not ours to store.
   */
  #agentInitiated(keyId: string, response: Omit<ResponseMessage, 'type'>): CommandRecord {
    const target = typeof response.data?.target === 'string' ? response.data.target : undefined;
    const record = this.deps.commands.insert({ command_id: response.command_id, key_id: keyId, command: 'backup', data: { target, scheduled: true }, deadline: null, timeout_s: null });
    this.deps.commands.markSent(record.command_id, 'agent');
    this.deps.log.info({ command_id: record.command_id, key_id: keyId, target }, 'scheduled backup reported by the agent');
    return record;
  }

  /** Only keys granted `backup` store scheduled backup results, and only so many an hour. */
  #refuseAgentInitiated(keyId: string): ResultRefusal | undefined {
    const key = this.deps.keys.get(keyId);
    if (!key?.permissions.includes('backup')) {
      return { status: 422, final: true, message: `permission_denied: agent key ${keyId} is not granted "backup", so its scheduled backup results are not stored; grant it with PATCH /api/agents/keys/${keyId} {"permissions": [..., "backup"]}` };
    }
    const taken = this.deps.scheduledResults.take(keyId);
    if (!taken.ok) {
      return { status: 429, final: false, message: `agent key ${keyId} sent more scheduled backup results than the hub stores per hour (--max-scheduled-results-per-hour); send it again in ${Math.ceil(taken.retryInMs / 1000)} s` };
    }
    return undefined;
  }

  /** Stores a job event of a command of this key; 'dropped' once the command has its cap of events. */
  recordEvent(keyId: string, event: JobEvent): 'stored' | 'dropped' | 'ignored' {
    const commandId = event.command_id ?? event.job_id;
    const record = this.deps.commands.get(commandId);
    if (!record || record.key_id !== keyId) {
      this.deps.log.debug({ command_id: commandId, type: event.type }, 'job event for an unknown command; ignored');
      return 'ignored';
    }
    const { type, ...fields } = this.#bounded(event);
    const stored = this.deps.events.append(commandId, type, fields);
    if (!stored) return 'dropped';
    this.signals.emit(`event:${commandId}`, stored);
    return 'stored';
  }

  /** An output line or progress message past the limit is cut, and says how much was cut. */
  #bounded(event: JobEvent): JobEvent {
    const max = this.deps.eventLineMaxChars;
    if (event.type === 'job_output' && event.line.length > max) return { ...event, line: event.line.slice(0, max), truncated_chars: event.line.length - max } as JobEvent;
    if (event.type === 'job_progress' && event.message !== undefined && event.message.length > max) return { ...event, message: event.message.slice(0, max), truncated_chars: event.message.length - max } as JobEvent;
    return event;
  }

  /** The stored command once it has a result (or expired), or as it is after timeoutMs. */
  async waitForResult(commandId: string, timeoutMs: number): Promise<CommandRecord | undefined> {
    const finished = (record: CommandRecord | undefined) => !record || record.result !== null || record.status === 'expired';
    const current = this.deps.commands.get(commandId);
    if (finished(current) || timeoutMs <= 0) return current;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.signals.off(`done:${commandId}`, done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.signals.on(`done:${commandId}`, done);
    });
    return this.deps.commands.get(commandId);
  }

  /** Every command as it finishes: its record as it was, and the stored result (null: it expired). For metrics. */
  onFinished(listener: (record: CommandRecord, result: Record<string, unknown> | null) => void): void {
    this.signals.on('finished', listener);
  }

  /** Live job events and completion of one command, for SSE. Returns the unsubscribe function. */
  subscribe(commandId: string, onEvent: (event: StoredEvent) => void, onDone: () => void): () => void {
    this.signals.on(`event:${commandId}`, onEvent);
    this.signals.on(`done:${commandId}`, onDone);
    return () => {
      this.signals.off(`event:${commandId}`, onEvent);
      this.signals.off(`done:${commandId}`, onDone);
    };
  }

  private deliver(session: AgentSession, record: CommandRecord): void {
    if (this.expireIfLate(record)) return;
    if (session.send?.(this.frameFor(session, record))) this.deps.commands.markSent(record.command_id, 'websocket');
  }

  private expireIfLate(record: CommandRecord): boolean {
    if (record.deadline === null || Date.parse(record.deadline) > Date.now()) return false;
    this.deps.commands.markExpired(record.command_id);
    this.deps.log.info({ command_id: record.command_id }, 'command expired before delivery');
    this.signals.emit(`done:${record.command_id}`);
    this.signals.emit('finished', record, null);
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
