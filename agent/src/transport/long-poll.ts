// HTTP transport (protocol.md section 4): a link is a registration (POST /api/agents/heartbeat with
// the register fields) followed by a (long) poll loop. Messages map onto the typed operations of
// HubHttpApi: heartbeat, result (2xx means stored: `acked`; once a signing key is pinned only when
// the answer's signed `ack` verifies), job events (batched). Commands from polls go to the session
// one by one, to be validated like WebSocket command frames; a poll answer's `frames` (a signed
// `permissions` frame) go to it as if they had come over the WebSocket.
import { Backoff } from '@tether/shared/backoff.ts';
import { PROTOCOL_VERSION } from '@tether/shared/protocol/hub-messages.ts';
import type { AckMessage } from '@tether/shared/protocol/hub-messages.ts';
import type { AgentMessage, HeartbeatMessage, JobEvent, RegisterMessage, ResponseMessage } from '@tether/shared/protocol/agent-messages.ts';
import type { HttpHeartbeatBody } from '@tether/shared/protocol/http-bodies.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { SendResult, Transport, TransportEvents } from './transport.ts';
import { HubHttpClient } from './http-client.ts';
import { HttpFailure, HubHttpApi } from './hub-http-api.ts';
import { decideAfterHttpRefusal, MAX_SLOW_DELAY_MS } from './reconnect-policy.ts';

export interface HttpTransportOptions {
  /** The HTTP base URL (agentHttpBase of the server URL). */
  base: string;
  apiKey: string;
  userAgent: string;
  log: Logger;
  events: TransportEvents;
  /** Long-poll wait (≤ 30 s) when the hub speaks protocol 1; micro-hack servers get plain polls. */
  waitS?: number;
  /** Seconds between plain polls (micro-hack's MICROHACK_HTTP_POLL_INTERVAL, default 5); the hub's poll_interval_s wins. */
  plainPollIntervalS?: number;
  /** Judges the hub's ack of a result (signature.ts): once a key is pinned, only a signed one counts. */
  acks: AckTrust;
  env?: NodeJS.ProcessEnv;
}

/** The part of CommandSigning that judges acks. */
export interface AckTrust {
  /** A signing key is pinned: an unsigned answer is no ack. */
  readonly required: boolean;
  /** Whether this ack may be acted on (logs a SECURITY line when not). */
  accepts(frame: AckMessage): boolean;
}

/** Events waiting for a batch are capped; beyond it a send fails (the session keeps the event). */
const MAX_QUEUED_EVENTS = 10_000;
const EVENTS_BATCH = 500;
const EVENTS_FLUSH_DELAY_MS = 50;
const DEFAULT_PLAIN_POLL_S = 5;
const WRITTEN: SendResult = { kind: 'written' };
const ACKED: SendResult = { kind: 'acked' };

interface QueuedEvent {
  event: JobEvent;
  resolve(result: SendResult): void;
  reject(error: unknown): void;
}

/** The register fields the heartbeat repeats. */
type Identity = Pick<HttpHeartbeatBody, 'agent_id' | 'hostname' | 'platform' | 'version'>;

export class HttpTransport implements Transport {
  readonly name = 'http_polling';
  readonly announcesConnected = false;
  #options: HttpTransportOptions;
  #log: Logger;
  #api: HubHttpApi;
  #backoff = new Backoff({ baseMs: 1000, capMs: 60_000 });
  #up = false;
  #stopped = true;
  #registered = false;
  /** Aborts whatever belongs to the current link (its poll loop, its requests). */
  #link: AbortController | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #peerProtocol: number | undefined;
  #pollIntervalS: number;
  #identity: Identity = {};
  #events: QueuedEvent[] = [];
  #flushTimer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: HttpTransportOptions) {
    this.#options = options;
    this.#log = options.log.child({ transport: 'http_polling' });
    this.#pollIntervalS = options.plainPollIntervalS ?? DEFAULT_PLAIN_POLL_S;
    this.#api = new HubHttpApi(new HubHttpClient({ base: options.base, apiKey: options.apiKey, userAgent: options.userAgent, env: options.env }));
  }

  get isUp(): boolean {
    return this.#up;
  }

  /** The hub is reachable over plain HTTP (switch.ts asks before it switches). */
  probe(): Promise<boolean> {
    return this.#api.reachable();
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const wasUp = this.#up;
    this.#endLink();
    if (wasUp) this.#options.events.down({ code: 1000, reason: 'http transport stopped' });
  }

  send(message: AgentMessage): Promise<SendResult> {
    if (!this.#up || !this.#link) return Promise.reject(new Error('not connected'));
    switch (message.type) {
      case 'register':
        return this.#register(message, this.#link);
      case 'heartbeat':
        return this.#heartbeat(message, this.#link);
      case 'response':
        return this.#result(message, this.#link);
      case 'job_accepted':
      case 'job_progress':
      case 'job_output':
        return this.#queueEvent(message);
    }
  }

  /** A new link: the session registers at once (announcesConnected is false). */
  #connect(): void {
    if (this.#stopped) return;
    this.#link = new AbortController();
    this.#up = true;
    this.#registered = false;
    this.#options.events.up();
  }

  #endLink(): void {
    this.#up = false;
    this.#registered = false;
    this.#link?.abort();
    this.#link = null;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    for (const queued of this.#events.splice(0)) queued.reject(new Error('the HTTP link ended'));
  }

  /** The link failed: tell the session, back off, and start a new link (which registers again). */
  #linkFailed(link: AbortController, reason: string, slowdown = 1): void {
    // A late failure of an older link's request must not end the current one.
    if (this.#stopped || !this.#up || link !== this.#link) return;
    this.#endLink();
    this.#options.events.down({ code: 1006, reason });
    const delay = Math.min(this.#backoff.next() * slowdown, MAX_SLOW_DELAY_MS);
    this.#log.warn({ retry_in_ms: delay, attempt: this.#backoff.attempt }, `http polling interrupted: ${reason}`);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#connect();
    }, delay);
  }

  /** The hub refused a request of this link: end it and back off as reconnect-policy.ts says. */
  #refused(link: AbortController, error: HttpFailure): void {
    const decision = decideAfterHttpRefusal(error.status);
    this.#linkFailed(link, `${error.message} (${decision.reason})`, decision.slowdown);
  }

  /**
   * Runs one operation of the link. A network error ends the link; so does an answer that says
   * "try later" (5xx, 401, 403, 408, 429); other HTTP failures are for the caller to judge.
   */
  async #run<T>(link: AbortController, what: string, operation: (signal: AbortSignal) => Promise<T>, options: { countsAsAttempt?: boolean } = {}): Promise<T> {
    try {
      return await operation(link.signal);
    } catch (error) {
      if (link.signal.aborted || link !== this.#link) throw error;
      const reason = `${what}: ${(error as Error).message}`;
      if (!(error instanceof HttpFailure)) {
        this.#options.events.attemptFailed(reason);
        this.#linkFailed(link, reason);
      } else if (error.retriable) {
        if (options.countsAsAttempt) this.#options.events.attemptFailed(error.message);
        this.#refused(link, error);
      }
      throw error;
    }
  }

  async #register(message: RegisterMessage, link: AbortController): Promise<SendResult> {
    const { data } = message;
    this.#identity = { agent_id: data.agent_id, hostname: data.hostname, platform: data.platform, version: data.version };
    let answer: Awaited<ReturnType<HubHttpApi['register']>>;
    try {
      answer = await this.#run(link, 'register', (signal) => this.#api.register({ ...data, protocol: PROTOCOL_VERSION, connection_mode: 'http_polling' }, signal), { countsAsAttempt: true });
    } catch (error) {
      // Any other refusal of the registration (409: this agent_id belongs to another key): this
      // link is no use; start over after a backoff.
      if (error instanceof HttpFailure && !error.retriable && !link.signal.aborted) {
        this.#options.events.attemptFailed(error.message);
        this.#refused(link, error);
      }
      throw error;
    }
    this.#peerProtocol = answer.protocol;
    if (answer.poll_interval_s) this.#pollIntervalS = answer.poll_interval_s;
    this.#registered = true;
    void this.#pollLoop(link);
    return {
      kind: 'registered',
      answer: { agentId: answer.agent_id ?? data.agent_id, permissions: answer.permissions, protocol: answer.protocol, signingKey: answer.signing_key },
    };
  }

  async #heartbeat(message: HeartbeatMessage, link: AbortController): Promise<SendResult> {
    await this.#run(link, 'heartbeat', (signal) =>
      this.#api.heartbeat({ ...this.#identity, mode: 'http_polling', metrics: message.system_metrics, ...(message.backups ? { backups: message.backups } : {}) }, signal),
    );
    // A stable link: the next failure starts the backoff from the bottom again.
    this.#backoff.reset();
    return WRITTEN;
  }

  async #result(message: ResponseMessage, link: AbortController): Promise<SendResult> {
    await this.#flushEvents(); // progress and output go before the result that ends them
    const commandId = message.command_id;
    let answer: Awaited<ReturnType<HubHttpApi['result']>>;
    try {
      answer = await this.#run(link, 'result', (signal) => this.#api.result({ command_id: commandId, result: message }, signal));
    } catch (error) {
      // Not stored now: the link ended, and the outbox is sent again (in order) once it is back.
      if (!(error instanceof HttpFailure) || error.retriable) throw error;
      if (this.#options.acks.required) {
        // The refusal is unsigned, and a relay could answer the same: a pinned agent keeps the
        // response and sends it again on the next link.
        this.#log.error({ command_id: commandId, err: error.message }, 'the hub rejected a response; kept in the outbox (a pinned agent forgets a response only on a signed ack)');
        return WRITTEN;
      }
      // Any other 4xx will never be accepted: keeping it would block every later response.
      this.#log.error({ command_id: commandId, err: error.message }, 'the hub rejected a response for good; dropping it from the outbox');
      return { kind: 'skipped', reason: error.message };
    }
    // Stored only when the ack says so: signed for this agent's key once one is pinned (an unsigned
    // 2xx is judged like an unsigned ack frame). Otherwise it stays, and goes again on the next link.
    const ack: AckMessage = answer.ack ? { type: 'ack', ...answer.ack } : { type: 'ack', command_ids: [commandId] };
    return ack.command_ids.includes(commandId) && this.#options.acks.accepts(ack) ? ACKED : WRITTEN;
  }

  #queueEvent(event: JobEvent): Promise<SendResult> {
    if (this.#peerProtocol !== PROTOCOL_VERSION) return Promise.resolve({ kind: 'skipped', reason: 'this server has no events endpoint (it did not announce protocol 1)' });
    if (this.#events.length >= MAX_QUEUED_EVENTS) return Promise.reject(new Error('too many job events waiting for the hub'));
    return new Promise((resolve, reject) => {
      this.#events.push({ event, resolve, reject });
      if (!this.#flushTimer) {
        this.#flushTimer = setTimeout(
          () => {
            this.#flushTimer = null;
            void this.#flushEvents();
          },
          this.#events.length >= EVENTS_BATCH ? 0 : EVENTS_FLUSH_DELAY_MS,
        );
      }
    });
  }

  /** Sends queued events in order, in batches; a batch that fails fails its senders. */
  #flushEvents(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      while (this.#events.length > 0) {
        const link = this.#link;
        const batch = this.#events.splice(0, EVENTS_BATCH);
        if (!link || !this.#registered) {
          for (const queued of batch) queued.reject(new Error('not connected'));
          continue;
        }
        try {
          await this.#run(link, 'events', (signal) => this.#api.events({ events: batch.map((queued) => queued.event) }, signal));
          for (const queued of batch) queued.resolve(WRITTEN);
        } catch (error) {
          if (error instanceof HttpFailure && !error.retriable) {
            this.#log.warn({ err: error.message, events: batch.length }, 'the hub refused a batch of job events; dropped');
            for (const queued of batch) queued.resolve({ kind: 'skipped', reason: error.message });
          } else {
            for (const queued of batch) queued.reject(error);
          }
        }
      }
    });
    return this.#flushing;
  }

  async #pollLoop(link: AbortController): Promise<void> {
    const longPoll = this.#peerProtocol === PROTOCOL_VERSION;
    const waitS = Math.min(30, Math.max(0, this.#options.waitS ?? 25));
    while (!link.signal.aborted) {
      let answer: Awaited<ReturnType<HubHttpApi['poll']>>;
      try {
        answer = await this.#run(link, 'poll', (signal) => this.#api.poll(longPoll ? waitS : null, signal));
      } catch (error) {
        if (error instanceof HttpFailure && !error.retriable && !link.signal.aborted) this.#refused(link, error);
        return;
      }
      if ('malformed' in answer) {
        this.#log.warn({ status: answer.malformed }, 'dropped a poll answer that is not { commands: [...] }');
      } else {
        for (const frame of answer.frames) {
          if (link.signal.aborted) return;
          this.#options.events.message(frame);
        }
        for (const entry of answer.commands) {
          if (link.signal.aborted) return;
          this.#options.events.command(entry);
        }
      }
      if (!longPoll) await sleep(this.#pollIntervalS * 1000, link.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
