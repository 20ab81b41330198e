// Every command goes: validate → signature → dedupe → permission → params → lane → run → respond.
// Refusals are answered with an error code, audit-logged, and never run. Once a command's signature
// verified, its first answer is journaled whatever it was (busy and expired too), so a replay of
// the same frame is answered from the journal and never runs.
import { parseTimestamp } from '@tether/shared/protocol/timestamp.ts';
import type { CommandMessage } from '@tether/shared/protocol/hub-messages.ts';
import type { ErrorCode } from '@tether/shared/protocol/error-codes.ts';
import type { JobEvent, ResponseMessage } from '@tether/shared/protocol/agent-messages.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { AgentConfig } from '@tether/shared/config/agent-config.ts';
import { CommandFailure } from './commands/command.ts';
import type { CommandContext, CommandDefinition } from './commands/command.ts';
import type { CommandRegistry } from './commands/registry.ts';
import type { Permissions } from './permissions.ts';
import type { Lanes } from './lanes.ts';
import type { CommandSigning } from './signature.ts';
import type { Journal } from './journal.ts';
import type { Outbox } from './outbox.ts';
import type { RunningMarkers } from './running-markers.ts';
import { createJobReporter } from './job-reporter.ts';

const MAX_REMEMBERED_UNVERIFIED = 10_000;

export const INTERRUPTED_ERROR = 'interrupted: the agent stopped while this command ran';

export interface DispatcherDeps {
  config: AgentConfig;
  stateDir: string;
  agentId: string;
  log: Logger;
  registry: CommandRegistry;
  permissions: Permissions;
  lanes: Lanes;
  signing: CommandSigning;
  journal: Journal;
  outbox: Outbox;
  markers: RunningMarkers;
  /** Event to the hub (job_accepted, progress, output); kept across a drop (session.ts). */
  sendEvent(message: JobEvent): void;
  /** A response was stored in the outbox: push it out (or re-push `commandId`). */
  deliver(resendCommandId?: string): void;
  /**
   * fsync responses of effect-free commands and refusals too. Off by default: running such a
   * command again changes nothing, and the hub keeps one result per command. Responses of commands
   * with effects are always durable before they are sent.
   */
  fsyncEffectFree: boolean;
  /** A handler asked the agent to exit once this command's response is delivered. */
  exitAfterDelivery(code: number, commandId: string): void;
}

export class Dispatcher {
  #deps: DispatcherDeps;
  #log: Logger;
  /**
   * Accepted and not yet answered: a duplicate arriving meanwhile is ignored. The value: an answer
   * it gets without running must be fsynced (#guardsReplay).
   */
  #inFlight = new Map<string, boolean>();
  #running = new Map<string, AbortController>();
  #cancelBeforeStart = new Set<string>();
  /** Ids answered bad_signature by this process (oldest first). */
  #refusedUnverified = new Set<string>();

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
    this.#log = deps.log;
  }

  get running(): number {
    return this.#deps.lanes.normalRunning + this.#deps.lanes.priorityRunning;
  }

  get queued(): number {
    return this.#deps.lanes.queued;
  }

  /** A `command` frame that failed its schema but names a command_id: answer invalid_params. */
  async refuseMalformed(commandId: string, command: string, reason: string): Promise<void> {
    if (this.#inFlight.has(commandId) || this.#deps.journal.has(commandId)) return;
    if (this.#deps.signing.required) this.#rememberUnverified(commandId); // its signature could not be checked
    await this.#refuse({ commandId, command }, 'invalid_params', reason, { journal: false });
  }

  async handle(message: CommandMessage): Promise<void> {
    const { command_id: commandId, command } = message;
    const ids = { commandId, command };

    const verdict = this.#deps.signing.verify(message);
    if (!verdict.ok) {
      this.#log.error({ command_id: commandId, command, reason: verdict.reason }, 'SECURITY: refused a command with a bad signature');
      // A forgery under the id of a real command: the real command's answer stands.
      if (this.#inFlight.has(commandId) || this.#deps.journal.has(commandId)) return;
      // Not journaled (an id that did not verify cannot be trusted to be the hub's), but remembered
      // while this process runs: the hub may have stored this refusal as the command's result.
      this.#rememberUnverified(commandId);
      return this.#refuse(ids, verdict.code, verdict.reason, { journal: false });
    }

    if (this.#inFlight.has(commandId)) {
      this.#log.info({ command_id: commandId, command }, 'duplicate of a command still running: ignored');
      return;
    }
    // `has`, not `get`: an answer that cannot be read back still means the command never runs again.
    if (this.#deps.journal.has(commandId)) return this.#replay(commandId, command);
    const definition = this.#deps.registry.get(command);
    const durable = this.#guardsReplay(verdict.verified, definition);
    if (this.#refusedUnverified.has(commandId)) {
      return this.#refuse(ids, 'bad_signature', 'this command id first arrived with a bad signature (or malformed) and was refused; it is not run now (queue the command again)', { durable });
    }
    if (verdict.stale) return this.#refuse(ids, 'expired', verdict.stale, { durable });

    if (!definition)
      return this.#refuse(
        ids,
        'unknown_command',
        `unknown command "${command}"; this agent knows: ${this.#deps.registry
          .all()
          .map((c) => c.name)
          .join(', ')}`,
      );

    if (!this.#deps.permissions.allows(definition.permission)) {
      return this.#refuse(ids, 'permission_denied', this.#deps.permissions.refusalReason(definition.permission), { durable });
    }

    const data = message.data === undefined ? {} : message.data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      return this.#refuse(ids, 'invalid_params', `data must be a JSON object, got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`, { durable });
    }
    const parsed = definition.params.safeParse(data);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'data'}: ${issue.message}`).join('; ');
      return this.#refuse(ids, 'invalid_params', problems, { durable });
    }

    if (this.#deadlinePassed(message)) return this.#refuse(ids, 'expired', `deadline ${message.deadline} passed before the command could start`, { durable });

    const suppliedJobId = (data as { job_id?: unknown }).job_id;
    const jobId = typeof suppliedJobId === 'string' ? suppliedJobId : commandId;
    const job = { id: commandId, start: () => this.#execute(message, definition, parsed.data, jobId, durable) };
    this.#inFlight.set(commandId, durable);
    const isPriority = definition.lane === 'priority';
    const admission = isPriority ? this.#deps.lanes.submitPriority(job) : this.#deps.lanes.submitNormal(job);
    if (!admission.accepted) {
      this.#inFlight.delete(commandId);
      // A verified id is remembered even when refused; an unsigned one (no key pinned) is not.
      return this.#refuse(ids, 'busy', `the normal lane is full (${this.#deps.config.queue.max_queued} queued); send it again later`, { journal: verdict.verified, durable });
    }
    this.#deps.sendEvent({
      type: 'job_accepted',
      job_id: jobId,
      command_id: commandId,
      command,
      queue_position: admission.position,
      is_priority: isPriority,
      agent_id: this.#deps.agentId,
      regular_queue_size: this.#deps.lanes.queued,
      // micro-hack's field: how many wait in the priority queue. Priority work starts at once, so none.
      priority_queue_size: 0,
      timestamp: new Date().toISOString(),
    });
  }

  /** `cancel`: a queued command is answered at once; a running one has its signal aborted. */
  async cancel(commandId: string): Promise<void> {
    if (this.#deps.lanes.removeQueued(commandId)) {
      const durable = this.#inFlight.get(commandId) === true;
      await this.#finish(commandId, this.#failure(commandId, 'cancelled', 'cancelled before it started', 0), { journal: true, effectFree: !durable, command: '(queued)', outcome: 'cancelled' });
      return;
    }
    const controller = this.#running.get(commandId);
    if (controller) controller.abort(new CommandFailure('cancelled', 'cancelled by the hub'));
    else if (this.#inFlight.has(commandId))
      this.#cancelBeforeStart.add(commandId); // admitted, starting on the next tick
    else this.#log.info({ command_id: commandId }, 'cancel for a command that is not running: ignored');
  }

  /** Leftover running markers from a previous process become `failed` responses, never a rerun. */
  async recoverInterrupted(): Promise<void> {
    for (const marker of this.#deps.markers.leftovers()) {
      const id = marker.command_id;
      const inOutbox = this.#deps.outbox.get(id);
      if (this.#deps.journal.has(id)) {
        this.#deps.markers.clear(id); // finished before the crash
      } else if (inOutbox) {
        await this.#deps.journal.record(id, inOutbox.message); // its response record ends the marker
      } else {
        await this.#deps.outbox.add(id, this.#failure(id, 'failed', INTERRUPTED_ERROR, 0), { journal: true });
        this.#audit(marker.command, id, 'interrupted');
      }
    }
  }

  /** `durable`: an answer it gets without running is fsynced (#guardsReplay). */
  async #execute(message: CommandMessage, definition: CommandDefinition, params: unknown, jobId: string, durable: boolean): Promise<void> {
    const commandId = message.command_id;
    if (this.#deadlinePassed(message)) {
      await this.#finish(commandId, this.#failure(commandId, 'expired', `deadline ${message.deadline} passed while the command was queued`, 0), {
        journal: true,
        effectFree: !durable,
        command: message.command,
        outcome: 'expired',
      });
      return;
    }
    if (this.#cancelBeforeStart.delete(commandId)) {
      await this.#finish(commandId, this.#failure(commandId, 'cancelled', 'cancelled before it started', 0), { journal: true, effectFree: !durable, command: message.command, outcome: 'cancelled' });
      return;
    }
    // Registered before the first await, so a cancel arriving while the marker is written is not lost.
    const controller = new AbortController();
    this.#running.set(commandId, controller);
    const aborted = new Promise<never>((_resolve, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => {});
    const isNormal = definition.lane === 'normal';
    if (isNormal) {
      try {
        await this.#deps.markers.mark({ command_id: commandId, command: message.command, job_id: jobId, started_at: new Date().toISOString() });
      } catch (error) {
        // Without a marker a crash could not be told apart from "never ran": refuse to start.
        this.#running.delete(commandId);
        await this.#finish(commandId, this.#failure(commandId, 'failed', `cannot record the command as running (${(error as Error).message}); is the state dir full or read-only?`, 0), {
          journal: true,
          effectFree: true,
          command: message.command,
          outcome: 'failed',
        });
        return;
      }
    }

    const timeoutS = message.timeout_s ?? definition.defaultTimeoutS ?? this.#deps.config.command_timeout_s;
    const timer = setTimeout(() => controller.abort(new CommandFailure('timeout', `timed out after ${timeoutS} s`)), timeoutS * 1000);
    let requestedExit: number | null = null;
    // The logger and the job reporter are made on first use: most commands (ping, echo) use
    // neither, and a pino child per command was a tenth of the agent's CPU under load.
    const deps = this.#deps;
    let commandLog: Logger | undefined;
    let reporter: CommandContext['job'] | undefined;
    const context: CommandContext = {
      commandId,
      jobId,
      signal: controller.signal,
      config: deps.config,
      stateDir: deps.stateDir,
      agentId: deps.agentId,
      get log() {
        return (commandLog ??= deps.log.child({ command: message.command, command_id: commandId }));
      },
      get job() {
        return (reporter ??= createJobReporter({ jobId, commandId, agentId: deps.agentId }, deps.sendEvent));
      },
      requestExit: (code) => {
        requestedExit = code;
      },
    };

    const started = Date.now();
    const work = controller.signal.aborted ? aborted : Promise.resolve().then(() => definition.run(params, context));
    let response: ResponseMessage;
    let outcome: string;
    try {
      const data = await Promise.race([work, aborted]);
      response = { type: 'response', command_id: commandId, success: true, data, duration_ms: Date.now() - started, agent_id: this.#deps.agentId };
      outcome = 'ok';
    } catch (error) {
      const code: ErrorCode = error instanceof CommandFailure ? error.code : 'failed';
      const text = error instanceof Error ? error.message : String(error);
      response = this.#failure(commandId, code, text, Date.now() - started);
      outcome = code;
    } finally {
      clearTimeout(timer);
      this.#running.delete(commandId);
    }
    await this.#finish(commandId, response, { journal: true, effectFree: definition.effectFree === true, command: message.command, outcome });
    if (requestedExit !== null && outcome === 'ok') this.#deps.exitAfterDelivery(requestedExit, commandId);
    // Hold the lane slot until the handler has really stopped (after a timeout or cancel).
    await work.catch(() => {});
  }

  #replay(commandId: string, command: string): void {
    this.#audit(command, commandId, 'replayed_from_journal');
    // The journal holds it already: sending it again needs no new record.
    this.#deps.outbox.resend(commandId);
    this.#deps.deliver(commandId);
  }

  /** `durable`: fsync the refusal (#guardsReplay); otherwise it counts as effect-free: the command never ran. */
  async #refuse(ids: { commandId: string; command: string }, code: ErrorCode, reason: string, options: { journal?: boolean; durable?: boolean } = {}): Promise<void> {
    await this.#finish(ids.commandId, this.#failure(ids.commandId, code, reason, 0), {
      journal: options.journal ?? true,
      effectFree: options.durable !== true,
      command: ids.command,
      outcome: code,
      reason,
    });
  }

  async #finish(commandId: string, response: ResponseMessage, how: { journal: boolean; effectFree: boolean; command: string; outcome: string; reason?: string }): Promise<void> {
    try {
      // One record is the outbox entry, the journal's answer and the end of the running marker.
      // It is durable before it can be sent, unless the command changed nothing.
      await this.#deps.outbox.add(commandId, response, { sync: this.#sync(how.effectFree), journal: how.journal });
    } catch (error) {
      this.#log.error({ err: error, command_id: commandId }, 'could not store a response durably');
    } finally {
      this.#inFlight.delete(commandId);
    }
    this.#audit(how.command, commandId, how.outcome, how.reason, response.duration_ms);
    this.#deps.deliver();
  }

  /** The hub may have stored our refusal of this id as its result: never run the id later. */
  #rememberUnverified(commandId: string): void {
    this.#refusedUnverified.add(commandId);
    if (this.#refusedUnverified.size > MAX_REMEMBERED_UNVERIFIED) this.#refusedUnverified.delete(this.#refusedUnverified.values().next().value!);
  }

  /**
   * Whether an answer a verified command gets without running (a refusal, cancelled or expired in
   * the queue) must be fsynced like an effectful response. Its journal entry is all that stops a
   * replay of the same signed frame (inside the 300 s window) from running the command; for a
   * command with effects that must survive a power loss too. An effect-free one could run again
   * harmlessly, and an unsigned command (no key pinned) has no replay protection to keep.
   */
  #guardsReplay(verified: boolean, definition: CommandDefinition | undefined): boolean {
    return verified && definition !== undefined && definition.effectFree !== true;
  }

  /** Effectful responses are always fsynced; effect-free ones and refusals only when asked. */
  #sync(effectFree: boolean): boolean {
    return !effectFree || this.#deps.fsyncEffectFree;
  }

  #failure(commandId: string, code: ErrorCode, error: string, durationMs: number): ResponseMessage {
    return { type: 'response', command_id: commandId, success: false, data: {}, error, error_code: code, duration_ms: durationMs, agent_id: this.#deps.agentId };
  }

  #deadlinePassed(message: CommandMessage): boolean {
    return message.deadline !== undefined && parseTimestamp(message.deadline) < Date.now();
  }

  #audit(command: string, commandId: string, outcome: string, reason?: string, durationMs?: number): void {
    this.#log.info({ audit: true, command, command_id: commandId, outcome, reason, duration_ms: durationMs }, 'audit');
  }
}
