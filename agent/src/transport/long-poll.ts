// HTTP transport (protocol.md section 4): register and heartbeat by POST /api/agents/heartbeat,
// commands by (long) poll, responses by POST /api/agents/result (2xx = ack), job events batched
// to POST /api/agents/events. To the session it looks like the WebSocket: the same messages in
// and out, with `connected` / `registered` / `ack` made from the HTTP answers (the ack carries the
// hub's signature when the answer has one; a pinned agent acts only on a signed ack).
import { Backoff } from '@tether/shared/backoff.ts';
import { z } from 'zod';
import { httpRegisterAnswerSchema, httpResultAnswerSchema } from '@tether/shared/protocol/http-bodies.ts';
import { PROTOCOL_VERSION } from '@tether/shared/protocol/hub-messages.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { Transport, TransportEvents } from './transport.ts';
import { HubHttpClient } from './http-client.ts';
import type { HubAnswer } from './http-client.ts';
import { MAX_SLOW_DELAY_MS } from './reconnect-policy.ts';

export interface HttpTransportOptions {
  /** The HTTP base URL (agentHttpBase of the server URL). */
  base: string;
  apiKey: string;
  userAgent: string;
  log: Logger;
  events: TransportEvents;
  /** Long-poll wait (≤ 30 s) when the hub speaks protocol 1; micro-hack servers get plain polls. */
  waitS?: number;
  env?: NodeJS.ProcessEnv;
}

/** Events waiting for the hub are capped; beyond this the oldest are dropped with a warning. */
const MAX_BUFFERED_EVENTS = 10_000;
const EVENTS_BATCH = 500;
const EVENTS_FLUSH_DELAY_MS = 50;
const DEFAULT_PLAIN_POLL_S = 5;
const pollAnswerShape = z.object({
  commands: z.array(z.record(z.string(), z.unknown())).max(1000),
  /** Frames HTTP cannot push (a signed `permissions` frame), handled like WebSocket frames. */
  frames: z.array(z.record(z.string(), z.unknown())).max(100).optional(),
});

export class HttpFailure extends Error {
  readonly status: number;
  /** The link the failed request belonged to. */
  readonly link: AbortController | null;

  constructor(status: number, message: string, link: AbortController | null = null) {
    super(message);
    this.name = 'HttpFailure';
    this.status = status;
    this.link = link;
  }
}

export class HttpTransport implements Transport {
  readonly name = 'http_polling';
  readonly announcesConnected = false;
  #options: HttpTransportOptions;
  #log: Logger;
  #client: HubHttpClient;
  #backoff = new Backoff({ baseMs: 1000, capMs: 60_000 });
  #up = false;
  #stopped = true;
  #registered = false;
  /** Aborts whatever belongs to the current link (its poll loop, its flush timer). */
  #link: AbortController | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #peerProtocol: number | undefined;
  #pollIntervalS = DEFAULT_PLAIN_POLL_S;
  #identity: { agent_id?: string; hostname?: string; platform?: string; version?: string } = {};
  #events: Record<string, unknown>[] = [];
  #droppedEvents = 0;
  #flushTimer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: HttpTransportOptions) {
    this.#options = options;
    this.#log = options.log.child({ transport: 'http_polling' });
    this.#client = new HubHttpClient({ base: options.base, apiKey: options.apiKey, userAgent: options.userAgent, env: options.env });
  }

  get isUp(): boolean {
    return this.#up;
  }

  /**
   * GET /api/agents/poll answered 2xx or 401: the hub is reachable over plain HTTP. Sent without
   * the key, so the probe never takes commands off the queue (the hub answers 401).
   */
  static async probe(client: HubHttpClient): Promise<boolean> {
    try {
      const answer = await client.call('GET', '/api/agents/poll', { timeoutMs: 10_000, anonymous: true });
      return (answer.status >= 200 && answer.status < 300) || answer.status === 401;
    } catch {
      return false;
    }
  }

  get client(): HubHttpClient {
    return this.#client;
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
    this.#up = false;
    this.#registered = false;
    this.#link?.abort();
    this.#link = null;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    if (wasUp) this.#options.events.down({ code: 1000, reason: 'http transport stopped' });
  }

  async send(message: object): Promise<void> {
    if (!this.#up) throw new Error('not connected');
    const record = message as Record<string, unknown>;
    switch (record.type) {
      case 'register': return this.#register(record);
      case 'heartbeat': return this.#heartbeat(record);
      case 'response': return this.#result(record);
      case 'job_accepted':
      case 'job_progress':
      case 'job_output': return this.#queueEvent(record);
      default: this.#log.debug({ type: record.type }, 'no HTTP endpoint for this message; not sent');
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

  /** The link failed: tell the session, back off, and start a new link (which registers again). */
  #linkFailed(link: AbortController | null, reason: string, slowdown = 1): void {
    // A late failure of an older link's request must not end the current one.
    if (this.#stopped || !this.#up || link !== this.#link) return;
    this.#up = false;
    this.#registered = false;
    this.#link?.abort();
    this.#link = null;
    this.#options.events.down({ code: 1006, reason });
    const delay = Math.min(this.#backoff.next() * slowdown, MAX_SLOW_DELAY_MS);
    this.#log.warn({ retry_in_ms: delay, attempt: this.#backoff.attempt }, `http polling interrupted: ${reason}`);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#connect();
    }, delay);
  }

  /** Throws HttpFailure for a non-2xx answer; a network error ends the link. */
  async #call(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs?: number): Promise<HubAnswer> {
    const link = this.#link;
    if (!link) throw new Error('not connected');
    let answer: HubAnswer;
    try {
      answer = await this.#client.call(method, path, { body, signal: link.signal, timeoutMs });
    } catch (error) {
      const reason = `${method} ${path}: ${(error as Error).message}`;
      if (!link.signal.aborted && link === this.#link) {
        this.#options.events.attemptFailed(reason);
        this.#linkFailed(link, reason);
      }
      throw new Error(reason);
    }
    if (answer.status >= 200 && answer.status < 300) return answer;
    const detail = answer.body && typeof answer.body === 'object' && 'error' in answer.body ? String((answer.body as { error: unknown }).error) : `HTTP ${answer.status}`;
    throw new HttpFailure(answer.status, `${method} ${path} answered ${answer.status}: ${detail}`, link);
  }

  async #register(message: Record<string, unknown>): Promise<void> {
    const data = (message.data ?? {}) as Record<string, unknown>;
    this.#identity = { agent_id: data.agent_id as string, hostname: data.hostname as string, platform: data.platform as string, version: data.version as string };
    let answer: HubAnswer;
    try {
      answer = await this.#call('POST', '/api/agents/heartbeat', { ...data, protocol: PROTOCOL_VERSION, connection_mode: 'http_polling' });
    } catch (error) {
      if (error instanceof HttpFailure) {
        this.#options.events.attemptFailed(error.message);
        // 401/403 as on the WebSocket: retry, slower for a disabled or unapproved key.
        this.#linkFailed(error.link, error.message, error.status === 403 ? 4 : 1);
      }
      throw error;
    }
    const parsed = httpRegisterAnswerSchema.safeParse(answer.body ?? {});
    const reply = parsed.success ? parsed.data : { ok: true };
    this.#peerProtocol = 'protocol' in reply ? reply.protocol : undefined;
    if ('poll_interval_s' in reply && reply.poll_interval_s) this.#pollIntervalS = reply.poll_interval_s;
    this.#registered = true;
    this.#options.events.message({
      type: 'connected',
      message: 'http polling',
      ...('agent_key_id' in reply && reply.agent_key_id !== undefined ? { agent_key_id: reply.agent_key_id } : {}),
      ...('permissions' in reply ? { permissions: reply.permissions } : {}),
      ...(this.#peerProtocol !== undefined ? { protocol: this.#peerProtocol } : {}),
      ...('signing_key' in reply && reply.signing_key ? { signing_key: reply.signing_key } : {}),
    });
    const link = this.#link;
    this.#options.events.message({ type: 'registered', agent_id: ('agent_id' in reply ? reply.agent_id : undefined) ?? data.agent_id });
    if (link && !link.signal.aborted) void this.#pollLoop(link);
    if (this.#events.length > 0) void this.#flushEvents().catch(() => {}); // kept from the previous link
  }

  async #heartbeat(message: Record<string, unknown>): Promise<void> {
    await this.#call('POST', '/api/agents/heartbeat', {
      ...this.#identity,
      mode: 'http_polling',
      metrics: message.system_metrics,
    });
    // A stable link: the next failure starts the backoff from the bottom again.
    this.#backoff.reset();
  }

  async #result(message: Record<string, unknown>): Promise<void> {
    const commandId = String(message.command_id);
    await this.#flushEvents(); // progress and output go before the result that ends them
    let answer: HubAnswer;
    try {
      answer = await this.#call('POST', '/api/agents/result', { command_id: commandId, result: message });
    } catch (error) {
      if (!(error instanceof HttpFailure)) throw error; // the link already failed; the outbox re-sends after it
      if (error.status >= 500 || error.status === 401 || error.status === 403 || error.status === 408 || error.status === 429) {
        // Not stored now: end the link, so the outbox is re-sent (in order) once it is back.
        this.#linkFailed(error.link, error.message, error.status === 403 ? 4 : 1);
        throw error;
      }
      // Any other 4xx will never be accepted: keeping it would block every later response. (A
      // pinned agent still keeps it: the refusal is unsigned, and a relay could answer the same.)
      this.#log.error({ command_id: commandId, err: error.message }, 'the hub rejected a response for good; dropping it from the outbox');
      this.#options.events.message({ type: 'ack', command_ids: [commandId] });
      return;
    }
    const signed = httpResultAnswerSchema.safeParse(answer.body ?? {});
    const ack = signed.success ? signed.data.ack : undefined;
    this.#options.events.message(ack ? { type: 'ack', ...ack } : { type: 'ack', command_ids: [commandId] });
  }

  #queueEvent(event: Record<string, unknown>): void {
    if (this.#peerProtocol !== PROTOCOL_VERSION) return; // a micro-hack server has no events endpoint
    if (this.#events.length >= MAX_BUFFERED_EVENTS) {
      this.#events.shift();
      if (this.#droppedEvents++ % 1000 === 0) this.#log.warn({ dropped: this.#droppedEvents }, 'too many job events waiting for the hub; dropping the oldest');
    }
    this.#events.push(event);
    if (!this.#flushTimer) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = null;
        void this.#flushEvents().catch(() => {});
      }, this.#events.length >= EVENTS_BATCH ? 0 : EVENTS_FLUSH_DELAY_MS);
    }
  }

  /** Sends buffered events in order; what fails stays buffered for the next flush. */
  #flushEvents(): Promise<void> {
    this.#flushing = this.#flushing.catch(() => {}).then(async () => {
      while (this.#events.length > 0 && this.#up && this.#registered) {
        const batch = this.#events.slice(0, EVENTS_BATCH);
        try {
          await this.#call('POST', '/api/agents/events', { events: batch });
        } catch (error) {
          if (error instanceof HttpFailure && error.status === 400) {
            this.#log.warn({ err: error.message, events: batch.length }, 'the hub refused a batch of job events; dropped');
          } else {
            if (this.#up && !this.#flushTimer) this.#flushTimer = setTimeout(() => { this.#flushTimer = null; void this.#flushEvents().catch(() => {}); }, 1000);
            return;
          }
        }
        this.#events.splice(0, batch.length);
      }
    });
    return this.#flushing;
  }

  async #pollLoop(link: AbortController): Promise<void> {
    const longPoll = this.#peerProtocol === PROTOCOL_VERSION;
    const waitS = Math.min(30, Math.max(0, this.#options.waitS ?? 25));
    while (!link.signal.aborted) {
      let answer: HubAnswer;
      try {
        answer = await this.#call('GET', longPoll ? `/api/agents/poll?wait=${waitS}` : '/api/agents/poll', undefined, (waitS + 20) * 1000);
      } catch (error) {
        if (error instanceof HttpFailure) this.#linkFailed(error.link, error.message, error.status === 403 ? 4 : 1);
        return;
      }
      // Each command is checked by the session (a malformed one is answered invalid_params),
      // so one bad entry never hides the others.
      const commands = pollAnswerShape.safeParse(answer.body);
      if (!commands.success) {
        this.#log.warn({ status: answer.status }, 'dropped a poll answer that is not { commands: [...] }');
      } else {
        for (const frame of commands.data.frames ?? []) {
          if (link.signal.aborted) return;
          this.#options.events.message(frame);
        }
        for (const command of commands.data.commands) {
          if (link.signal.aborted) return;
          this.#options.events.message({ ...command, type: 'command' });
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
