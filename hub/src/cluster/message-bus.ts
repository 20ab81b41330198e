// Pub/sub between hubs: each hub listens on its own inbox, every hub listens for wake-ups, and
// SSE streams listen on the channel of the batch they follow. One subscriber connection per hub
// (Redis requires a dedicated one); ioredis re-subscribes by itself after a reconnect.
import type { Redis } from 'ioredis';
import type { Logger } from '@tether/shared/logger.ts';
import type { RedisLayout } from './redis-layout.ts';
import { batchProgressSchema, commandUpdateSchema, hubMessageSchema, parseMessage, wakeMessageSchema } from './cluster-messages.ts';
import type { BatchProgress, CommandUpdate, HubMessage } from './cluster-messages.ts';

export interface BusHandlers {
  /** A message for this hub (from any hub, this one included). */
  onHubMessage(message: HubMessage): void;
  /** A key has new work: wake its long poll if this hub holds one. */
  onWake(keyId: string): void;
}

export class MessageBus {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #layout: RedisLayout;
  readonly #hubId: string;
  readonly #log: Logger;
  readonly #batchListeners = new Map<string, Set<(progress: BatchProgress) => void>>();
  readonly #commandListeners = new Map<string, Set<(update: CommandUpdate) => void>>();
  #handlers: BusHandlers | undefined;

  constructor(options: { publisher: Redis; subscriber: Redis; layout: RedisLayout; hubId: string; log: Logger }) {
    this.#publisher = options.publisher;
    this.#subscriber = options.subscriber;
    this.#layout = options.layout;
    this.#hubId = options.hubId;
    this.#log = options.log;
  }

  /** Subscribes to this hub's inbox and the wake channel; resolves once Redis confirmed both. */
  async start(handlers: BusHandlers): Promise<void> {
    this.#handlers = handlers;
    this.#subscriber.on('message', (channel: string, raw: string) => this.#dispatch(channel, raw));
    await this.#subscriber.subscribe(this.#layout.hubInbox(this.#hubId), this.#layout.wake);
  }

  /** Publishes to one hub's inbox; the number of hubs that got it (0: that hub is gone). */
  async sendToHub(hubId: string, message: HubMessage): Promise<number> {
    return this.#publisher.publish(this.#layout.hubInbox(hubId), JSON.stringify(message));
  }

  async wake(keyId: string): Promise<void> {
    await this.#publisher.publish(this.#layout.wake, JSON.stringify({ key_id: keyId }));
  }

  async publishBatchProgress(progress: BatchProgress): Promise<void> {
    await this.#publisher.publish(this.#layout.batch(progress.batch_id), JSON.stringify(progress));
  }

  /** Follows one batch's progress; resolves once subscribed. Call the returned function to stop. */
  async followBatch(batchId: string, listener: (progress: BatchProgress) => void): Promise<() => Promise<void>> {
    const channel = this.#layout.batch(batchId);
    let listeners = this.#batchListeners.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.#batchListeners.set(channel, listeners);
    }
    listeners.add(listener);
    if (listeners.size === 1) await this.#subscriber.subscribe(channel);
    return async () => {
      const current = this.#batchListeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.#batchListeners.delete(channel);
      await this.#subscriber.unsubscribe(channel);
    };
  }

  async publishCommandUpdate(update: CommandUpdate): Promise<void> {
    await this.#publisher.publish(this.#layout.command(update.command_id), JSON.stringify(update));
  }

  /** Follows one command's news; resolves once subscribed. Call the returned function to stop. */
  async followCommand(commandId: string, listener: (update: CommandUpdate) => void): Promise<() => Promise<void>> {
    const channel = this.#layout.command(commandId);
    let listeners = this.#commandListeners.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.#commandListeners.set(channel, listeners);
    }
    listeners.add(listener);
    if (listeners.size === 1) await this.#subscriber.subscribe(channel);
    return async () => {
      const current = this.#commandListeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.#commandListeners.delete(channel);
      await this.#subscriber.unsubscribe(channel);
    };
  }

  #dispatch(channel: string, raw: string): void {
    try {
      if (channel === this.#layout.wake) {
        const wake = parseMessage(wakeMessageSchema, raw);
        if (wake) this.#handlers?.onWake(wake.key_id);
        else this.#log.warn({ channel }, 'dropped a malformed wake-up from Redis');
        return;
      }
      if (channel === this.#layout.hubInbox(this.#hubId)) {
        const message = parseMessage(hubMessageSchema, raw);
        if (message) this.#handlers?.onHubMessage(message);
        else this.#log.warn({ channel }, 'dropped a malformed hub message from Redis');
        return;
      }
      const followers = this.#commandListeners.get(channel);
      if (followers) {
        const update = parseMessage(commandUpdateSchema, raw);
        if (!update) return void this.#log.warn({ channel }, 'dropped a malformed command update from Redis');
        for (const listener of followers) listener(update);
        return;
      }
      const listeners = this.#batchListeners.get(channel);
      if (!listeners) return;
      const progress = parseMessage(batchProgressSchema, raw);
      if (!progress) return void this.#log.warn({ channel }, 'dropped a malformed batch progress message from Redis');
      for (const listener of listeners) listener(progress);
    } catch (error) {
      this.#log.error({ err: error, channel }, 'handler for a Redis message failed');
    }
  }
}
