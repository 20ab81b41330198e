// The hub's agent endpoints over HTTP (protocol.md section 4) as typed operations: register,
// heartbeat, poll, result, events. Bodies are the shared schemas' types; answers are validated
// here. A non-2xx answer throws HttpFailure; a network error throws as it is.
import { z } from 'zod';
import { httpRegisterAnswerSchema, httpResultAnswerSchema } from '@tether/shared/protocol/http-bodies.ts';
import type { HttpAck, HttpEventsBody, HttpHeartbeatBody, HttpRegisterAnswer, HttpRegisterBody, HttpResultBody } from '@tether/shared/protocol/http-bodies.ts';
import type { HubAnswer, HubHttpClient } from './http-client.ts';
import { TetherError } from '@tether/shared/errors.ts';

export class HttpFailure extends TetherError {
  override name = 'HttpFailure';
  readonly status: number;

  constructor(status: number, message: string) {
    super(`TETHER_ERR_HTTP_${status}`, message);
    this.status = status;
  }

  /** Worth another try later (the hub is busy or restarting, or the key is not usable yet). */
  get retriable(): boolean {
    return this.status >= 500 || [401, 403, 408, 429].includes(this.status);
  }
}

/**
 * Each entry is validated by the session (a malformed one is answered invalid_params), so one bad
 * entry never hides the others. `frames`: hub → agent frames HTTP cannot push (a signed
 * `permissions` frame), validated by the session like WebSocket frames.
 */
const pollAnswerShape = z.object({ commands: z.array(z.unknown()).max(1000), frames: z.array(z.unknown()).max(100).optional() });

export interface PollAnswer {
  commands: unknown[];
  frames: unknown[];
}

/** A micro-hack server answers `{ status: "ok" }`: that is a registration without extensions. */
const PLAIN_ANSWER: HttpRegisterAnswer = { ok: true };

export class HubHttpApi {
  readonly client: HubHttpClient;

  constructor(client: HubHttpClient) {
    this.client = client;
  }

  /** GET /api/agents/poll without the key answered 2xx or 401: the hub is reachable over plain HTTP
   * (without the key, the probe never takes commands off the queue). */
  async reachable(): Promise<boolean> {
    try {
      const answer = await this.client.call('GET', '/api/agents/poll', { timeoutMs: 10_000, anonymous: true });
      return (answer.status >= 200 && answer.status < 300) || answer.status === 401;
    } catch {
      return false;
    }
  }

  async register(body: HttpRegisterBody, signal: AbortSignal): Promise<HttpRegisterAnswer> {
    const answer = await this.#post('/api/agents/heartbeat', body, signal);
    const parsed = httpRegisterAnswerSchema.safeParse(answer.body ?? {});
    return parsed.success ? parsed.data : PLAIN_ANSWER;
  }

  async heartbeat(body: HttpHeartbeatBody, signal: AbortSignal): Promise<void> {
    await this.#post('/api/agents/heartbeat', body, signal);
  }

  /** `waitS` null: a plain poll (micro-hack); else the hub holds the request up to that long. */
  async poll(waitS: number | null, signal: AbortSignal): Promise<PollAnswer | { malformed: number }> {
    const answer = await this.#check(
      'GET',
      '/api/agents/poll',
      await this.client.call('GET', waitS === null ? '/api/agents/poll' : `/api/agents/poll?wait=${waitS}`, { signal, timeoutMs: ((waitS ?? 0) + 20) * 1000 }),
    );
    const parsed = pollAnswerShape.safeParse(answer.body);
    return parsed.success ? { commands: parsed.data.commands, frames: parsed.data.frames ?? [] } : { malformed: answer.status };
  }

  /** 2xx: the hub stored the result. `ack`: the hub's signed ack of it (scheme 2), when it sent one. */
  async result(body: HttpResultBody, signal: AbortSignal): Promise<{ ack?: HttpAck }> {
    const answer = await this.#post('/api/agents/result', body, signal);
    const parsed = httpResultAnswerSchema.safeParse(answer.body ?? {});
    return parsed.success && parsed.data.ack ? { ack: parsed.data.ack } : {};
  }

  async events(body: HttpEventsBody, signal: AbortSignal): Promise<void> {
    await this.#post('/api/agents/events', body, signal);
  }

  async #post(path: string, body: unknown, signal: AbortSignal): Promise<HubAnswer> {
    return this.#check('POST', path, await this.client.call('POST', path, { body, signal }));
  }

  #check(method: string, path: string, answer: HubAnswer): HubAnswer {
    if (answer.status >= 200 && answer.status < 300) return answer;
    const detail = answer.body && typeof answer.body === 'object' && 'error' in answer.body ? String((answer.body as { error: unknown }).error) : `HTTP ${answer.status}`;
    throw new HttpFailure(answer.status, `${method} ${path} answered ${answer.status}: ${detail}`);
  }
}
