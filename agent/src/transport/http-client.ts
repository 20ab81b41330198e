// JSON requests to the hub's agent endpoints (protocol.md section 4): the agent key in
// Authorization, tether's User-Agent, HTTP(S)_PROXY / NO_PROXY honoured through the CONNECT proxy
// agent the WebSocket uses (connect-proxy-agent.ts, same rules in proxy-env.ts).
//
// Built on node:http / node:https with a keep-alive Agent rather than undici: the WebSocket client
// (ws) has node:http loaded already, so HTTP mode costs little on top of it, while undici cost the
// idle agent 14 MB of private memory. Bundled agent, idle, USS (median of 3): with undici
// WebSocket 20.3 MB / HTTP polling 34.7 MB; with node:http 20.6 / 23.6 MB. Re-run with
// `npm run bench -- --only transport` (rows "agent idle memory").
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { Agent, IncomingMessage, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { proxyForUrl } from './proxy-env.ts';

export interface HubHttpClientOptions {
  base: string;
  apiKey: string;
  userAgent: string;
  env?: NodeJS.ProcessEnv;
}

export interface HubAnswer {
  status: number;
  body: unknown;
  headers: IncomingMessage['headers'];
}

export interface CallOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** No byte from the hub for this long ends the request (default 30 s). */
  timeoutMs?: number;
  /** Leave the key out (the reachability probe: a 401 is as good as a 2xx). */
  anonymous?: boolean;
}

/** Larger answers are refused: a poll carries at most a few commands of ≤ 1 MiB each. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
/** An idle kept-alive socket is closed after this long (Node lowers it to the hub's Keep-Alive hint − 1 s). */
const IDLE_SOCKET_MS = 4000;

export class HubHttpClient {
  readonly base: string;
  #url: URL;
  #apiKey: string;
  #userAgent: string;
  #agent: Promise<Agent>;

  constructor(options: HubHttpClientOptions) {
    this.base = options.base;
    this.#url = new URL(options.base);
    this.#apiKey = options.apiKey;
    this.#userAgent = options.userAgent;
    const proxy = proxyForUrl(options.base, options.env ?? process.env);
    const secure = this.#url.protocol === 'https:';
    // The proxy agent is loaded only when a proxy applies, as for the WebSocket.
    this.#agent = proxy
      ? import('./connect-proxy-agent.ts').then(({ connectProxyAgent }) => connectProxyAgent(proxy, { keepAlive: true }))
      : Promise.resolve(secure ? new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS, maxSockets: 4 }) : new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS, maxSockets: 4 }));
  }

  async call(method: 'GET' | 'POST', path: string, options: CallOptions = {}): Promise<HubAnswer> {
    const agent = await this.#agent;
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const target = new URL(`${this.base}${path}`);
    const request: RequestOptions = {
      method,
      agent,
      protocol: target.protocol,
      hostname: target.hostname.replace(/^\[|\]$/g, ''),
      port: target.port || undefined,
      path: `${target.pathname}${target.search}`,
      signal: options.signal,
      timeout: options.timeoutMs ?? 30_000,
      headers: {
        ...(options.anonymous ? {} : { authorization: `Bearer ${this.#apiKey}` }),
        'content-type': 'application/json',
        'user-agent': this.#userAgent,
        ...(payload ? { 'content-length': String(payload.length) } : {}),
      },
    };
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<HubAnswer>((resolve, reject) => {
      const req = send(request, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            req.destroy(new Error(`the hub's answer to ${method} ${path} is larger than ${MAX_ANSWER_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.once('error', reject);
        response.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text.trim() === '' ? null : JSON.parse(text);
          } catch {
            // not JSON (e.g. a proxy's HTML error page): the caller looks at the status
          }
          resolve({ status: response.statusCode ?? 0, body, headers: response.headers });
        });
      });
      req.once('timeout', () => req.destroy(new Error(`no answer from the hub within ${request.timeout} ms`)));
      req.once('error', reject);
      req.end(payload);
    });
  }

  /** Closes kept-alive sockets. */
  async close(): Promise<void> {
    (await this.#agent).destroy();
  }
}
