// The outbox: responses waiting for delivery, in send order, kept in the command log
// (log/command-log.ts). An entry stays until the hub acks it (or, with a peer that never announced
// protocol 1, until the socket write completed); after any reconnect the outbox is sent again.
import type { ResponseMessage } from '@tether/shared/protocol/agent-messages.ts';
import type { CommandLog } from './log/command-log.ts';

export interface OutboxEntry {
  commandId: string;
  message: ResponseMessage;
}

export class Outbox {
  #log: CommandLog;

  constructor(log: CommandLog) {
    this.#log = log;
  }

  /**
   * Stores a response for delivery; one already waiting for that command is kept as it is.
   * `journal` also makes it the journal's answer for the command (one record for both; when an
   * answer was already waiting, a journal record of its own unless the journal has one).
   * `sync: false` skips the fsync, for responses of effect-free commands and refusals.
   */
  add(commandId: string, message: ResponseMessage, options: { sync?: boolean; journal?: boolean } = {}): Promise<void> {
    return this.#log.store(commandId, message, { journal: options.journal ?? false, sync: options.sync !== false });
  }

  has(commandId: string): boolean {
    return this.#log.hasPending(commandId);
  }

  get(commandId: string): OutboxEntry | undefined {
    const message = this.#log.pendingMessage(commandId);
    return message ? { commandId, message } : undefined;
  }

  /** Pending command ids, in send order. */
  ids(): string[] {
    return this.#log.pendingIds();
  }

  get size(): number {
    return this.#log.pendingCount;
  }

  /** The journal's answer for a re-sent command goes out again; false when there is none. */
  resend(commandId: string): boolean {
    return this.#log.resend(commandId);
  }

  /** The message went out on a link: memory lets go of it (a re-send reads it back). */
  sent(commandId: string): void {
    this.#log.sent(commandId);
  }

  /** Forgets delivered responses (acked, or written to a peer that never acks). */
  remove(commandIds: Iterable<string>): void {
    this.#log.delivered(commandIds);
  }

  onRemoved(listener: (commandId: string) => void): void {
    this.#log.onDelivered(listener);
  }
}
