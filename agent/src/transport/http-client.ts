// JSON requests to the hub's agent endpoints (protocol.md section 4) with undici: the agent key
// in Authorization, tether's User-Agent, HTTP(S)_PROXY / NO_PROXY honoured. Loaded only in HTTP mode.
import { Agent, EnvHttpProxyAgent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { proxyConfigured } from './proxy-env.ts';

export interface HubHttpClientOptions {
  base: string;
  apiKey: string;
  userAgent: string;
  env?: NodeJS.ProcessEnv;
}

export interface HubAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/** Larger answers are refused: a poll carries at most a few commands of ≤ 1 MiB each. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export class HubHttpClient {
  readonly base: string;
  #apiKey: string;
  #userAgent: string;
  #dispatcher: Dispatcher;

  constructor(options: HubHttpClientOptions) {
    this.base = options.base;
    this.#apiKey = options.apiKey;
    this.#userAgent = options.userAgent;
    const env = options.env ?? process.env;
    const common = { keepAliveTimeout: 4000, connect: { timeout: 10_000 } };
    this.#dispatcher = proxyConfigured(env)
      ? new EnvHttpProxyAgent({
          ...common,
          httpProxy: env.http_proxy || env.HTTP_PROXY || undefined,
          httpsProxy: env.https_proxy || env.HTTPS_PROXY || undefined,
          noProxy: env.no_proxy || env.NO_PROXY || undefined,
        })
      : new Agent(common);
  }

  /** `anonymous` leaves the key out (the reachability probe: a 401 is as good as a 2xx). */
  async call(method: 'GET' | 'POST', path: string, options: { body?: unknown; signal?: AbortSignal; timeoutMs?: number; anonymous?: boolean } = {}): Promise<HubAnswer> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const response = await request(`${this.base}${path}`, {
      method,
      dispatcher: this.#dispatcher,
      signal: options.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: {
        ...(options.anonymous ? {} : { authorization: `Bearer ${this.#apiKey}` }),
        'content-type': 'application/json',
        'user-agent': this.#userAgent,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_ANSWER_BYTES) {
        response.body.destroy();
        throw new Error(`the hub's answer to ${method} ${path} is larger than ${MAX_ANSWER_BYTES} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = text.trim() === '' ? null : JSON.parse(text);
    } catch {
      // not JSON (e.g. a proxy's HTML error page): the caller looks at the status
    }
    return { status: response.statusCode, body, headers: response.headers };
  }

  close(): Promise<void> {
    return this.#dispatcher.close();
  }
}
