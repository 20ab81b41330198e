// Sends the outbox in order over the current link. With a protocol-1 hub an entry stays until
// `ack` (or until the HTTP answer said it is stored); with a peer that never announced protocol 1
// it is removed once the socket write completed. After every new link everything pending goes again.
import { pauseForTest } from '@tether/shared/release/test-pause.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { Outbox } from './outbox.ts';
import type { Transport } from './transport/transport.ts';

export class Delivery {
  #outbox: Outbox;
  #log: Logger;
  #transport: Transport | null = null;
  /** Written on the current link and waiting for an ack (cleared on every new link). */
  #sentThisLink = new Set<string>();
  /** To send on the current link, in order. */
  #queue = new Set<string>();
  #peerAcks = false;
  #open = false;
  #draining: Promise<void> | null = null;
  /** TETHER_TEST_PAUSE_AT=delivery:after-send stops before a delivery is recorded (crash tests). */
  #pauseAfterSend = process.env.TETHER_TEST_PAUSE_AT === 'delivery:after-send';

  constructor(outbox: Outbox, log: Logger) {
    this.#outbox = outbox;
    this.#log = log;
  }

  attach(transport: Transport): void {
    this.#transport = transport;
  }

  /** The session is registered on a new link: send everything pending, in order. */
  open(peerAcks: boolean): void {
    this.#sentThisLink.clear();
    this.#queue = new Set(this.#outbox.ids());
    this.#peerAcks = peerAcks;
    this.#open = true;
    this.#drain();
  }

  close(): void {
    this.#open = false;
    this.#sentThisLink.clear();
    this.#queue.clear();
  }

  /** Send this entry (again, even if it went out on this link already); without an id, whatever is pending and not sent. */
  flush(commandId?: string): void {
    if (commandId === undefined) {
      for (const id of this.#outbox.ids()) if (!this.#sentThisLink.has(id)) this.#queue.add(id);
    } else {
      this.#sentThisLink.delete(commandId);
      this.#queue.add(commandId);
    }
    this.#drain();
  }

  /** Resolves when nothing is being sent. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async acked(commandIds: string[]): Promise<void> {
    if (this.#pauseAfterSend) await pauseForTest('delivery:after-send');
    this.#outbox.remove(commandIds);
    for (const commandId of commandIds) this.#sentThisLink.delete(commandId);
  }

  #drain(): void {
    if (this.#draining || !this.#open) return;
    this.#draining = this.#sendQueued().finally(() => {
      this.#draining = null;
      if (this.#open && this.#queue.size > 0 && this.#transport?.isUp) this.#drain();
    });
  }

  async #sendQueued(): Promise<void> {
    while (this.#open && this.#queue.size > 0) {
      const commandId = this.#queue.values().next().value!;
      this.#queue.delete(commandId);
      if (this.#sentThisLink.has(commandId)) continue;
      const entry = this.#outbox.get(commandId);
      if (!entry) continue; // delivered meanwhile
      const transport = this.#transport;
      if (!transport?.isUp) return;
      let result;
      try {
        result = await transport.send(entry.message);
      } catch (error) {
        // The link is going down; everything pending goes again on the next one.
        this.#log.debug({ err: (error as Error).message, command_id: commandId }, 'response not sent; it stays in the outbox');
        this.#queue.clear();
        return;
      }
      this.#outbox.sent(commandId);
      if (result.kind === 'written' && this.#peerAcks) {
        this.#sentThisLink.add(commandId);
        continue;
      }
      // Stored (HTTP 2xx), refused for good, or written to a peer that never acks: delivered.
      if (this.#pauseAfterSend) await pauseForTest('delivery:after-send');
      this.#outbox.remove([commandId]);
    }
  }
}
