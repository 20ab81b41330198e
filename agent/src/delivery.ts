// Sends the outbox in order over the current link. With a protocol-1 hub an entry stays until
// `ack`; with a peer that never announced protocol 1 it is removed once the socket write completed.
import type { Logger } from '@tether/shared/logger.ts';
import type { Outbox } from './outbox.ts';
import type { Transport } from './transport/transport.ts';

export class Delivery {
  #outbox: Outbox;
  #log: Logger;
  #transport: Transport | null = null;
  /** Entries already written on the current link (cleared on every new link). */
  #sentThisLink = new Set<string>();
  #peerAcks = false;
  #open = false;
  #flushing: Promise<void> = Promise.resolve();
  #again = false;

  constructor(outbox: Outbox, log: Logger) {
    this.#outbox = outbox;
    this.#log = log;
  }

  attach(transport: Transport): void {
    this.#transport = transport;
  }

  /** The session is registered on a new link: re-send everything, in order. */
  open(peerAcks: boolean): void {
    this.#sentThisLink.clear();
    this.#peerAcks = peerAcks;
    this.#open = true;
    this.flush();
  }

  close(): void {
    this.#open = false;
    this.#sentThisLink.clear();
  }

  /** Send pending entries; `resendCommandId` is sent again even if it went out on this link. */
  flush(resendCommandId?: string): void {
    if (resendCommandId) this.#sentThisLink.delete(resendCommandId);
    this.#again = true;
    this.#flushing = this.#flushing.then(() => this.#drain());
  }

  /** Resolves when every flush asked for so far has finished. */
  idle(): Promise<void> {
    return this.#flushing;
  }

  async acked(commandIds: string[]): Promise<void> {
    await this.#outbox.remove(commandIds);
    for (const commandId of commandIds) this.#sentThisLink.delete(commandId);
  }

  async #drain(): Promise<void> {
    while (this.#again) {
      this.#again = false;
      for (const entry of [...this.#outbox.entries()]) {
        if (!this.#open || !this.#transport?.isUp) return;
        if (this.#sentThisLink.has(entry.commandId)) continue;
        try {
          await this.#transport.send(entry.message);
        } catch (error) {
          this.#log.debug({ err: (error as Error).message, command_id: entry.commandId }, 'response not sent; it stays in the outbox');
          return;
        }
        this.#sentThisLink.add(entry.commandId);
        if (!this.#peerAcks) {
          await this.#outbox.remove([entry.commandId]);
          this.#sentThisLink.delete(entry.commandId);
        }
      }
    }
  }
}
