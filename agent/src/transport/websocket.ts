// WebSocket transport: connect (through a CONNECT proxy when HTTP(S)_PROXY says so), keep alive,
// reconnect with full-jitter backoff (protocol.md section 2). The link counts as up only once a
// frame has come back, so a proxy that completes the upgrade and then swallows frames is noticed.
import type { Agent } from 'node:http';
import WebSocket from 'ws';
import { Backoff } from '@tether/shared/backoff.ts';
import { MAX_HUB_FRAME_BYTES } from '@tether/shared/protocol/hub-messages.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { AgentMessage } from '@tether/shared/protocol/agent-messages.ts';
import type { SendResult, Transport, TransportEvents } from './transport.ts';
import { decideAfterClose, decideAfterHandshakeStatus, MAX_SLOW_DELAY_MS } from './reconnect-policy.ts';
import type { ReconnectDecision } from './reconnect-policy.ts';
import { blackHoleFailure, classifyConnectError, classifyHandshakeAnswer } from './ws-failure.ts';
import type { WsFailure } from './ws-failure.ts';
import { proxyForUrl } from './proxy-env.ts';

export interface WebSocketTransportOptions {
  url: string;
  apiKey: string;
  userAgent: string;
  log: Logger;
  events: TransportEvents;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** The backoff resets only after a connection stayed up this long. */
  stableAfterMs?: number;
  /** After the 101, a frame (or pong) must arrive within this long, else the attempt is structural. */
  frameTimeoutMs?: number;
  /**
   * Told about every failed attempt: 'retry' backs off as usual, 'retry-soon' retries within a
   * quarter second (to confirm a structural failure quickly), 'pause' stops until start().
   */
  onFailure?: (failure: WsFailure) => 'retry' | 'retry-soon' | 'pause';
  /** Read for HTTP(S)_PROXY / NO_PROXY; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Frames larger than the 1 MiB contract are dropped with a warning rather than tearing the link
 * down; ws itself only closes the socket (1009) above this much larger memory guard.
 */
const SOCKET_MAX_PAYLOAD = 16 * MAX_HUB_FRAME_BYTES;
const WRITTEN: SendResult = { kind: 'written' };

export class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  readonly announcesConnected = true;
  #options: WebSocketTransportOptions;
  #log: Logger;
  #backoff = new Backoff({ baseMs: 1000, capMs: 60_000 });
  #socket: WebSocket | null = null;
  #up = false;
  #stopped = true;
  #openedAt = 0;
  #proxyAgent: Promise<Agent | undefined> | null = null;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  #pongTimer: NodeJS.Timeout | null = null;
  #frameTimer: NodeJS.Timeout | null = null;

  constructor(options: WebSocketTransportOptions) {
    this.#options = options;
    this.#log = options.log.child({ transport: 'websocket' });
  }

  get isUp(): boolean {
    return this.#up;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  send(message: AgentMessage): Promise<SendResult> {
    const socket = this.#socket;
    if (!socket || !this.#up || socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      socket.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve(WRITTEN)));
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    const socket = this.#socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2000);
      socket.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'agent stopping');
      else socket.terminate();
    });
  }

  /** The CONNECT proxy agent, loaded only when a proxy applies to the hub's URL. */
  #agent(): Promise<Agent | undefined> {
    this.#proxyAgent ??= (async () => {
      const proxy = proxyForUrl(this.#options.url, this.#options.env ?? process.env);
      if (!proxy) return undefined;
      const { connectProxyAgent } = await import('./connect-proxy-agent.ts');
      this.#log.info({ proxy: new URL(proxy).host }, 'websocket goes through a CONNECT proxy');
      return connectProxyAgent(proxy);
    })();
    return this.#proxyAgent;
  }

  #connect(): void {
    if (this.#stopped) return;
    this.#agent().then(
      (agent) => this.#open(agent),
      (error) => {
        this.#log.error({ err: (error as Error).message }, 'cannot set up the proxy for the websocket; connecting directly');
        this.#proxyAgent = Promise.resolve(undefined);
        this.#open(undefined);
      },
    );
  }

  #open(agent: Agent | undefined): void {
    if (this.#stopped) return;
    const { url, apiKey, userAgent } = this.#options;
    let failure: WsFailure | null = null;
    let handshakeStatus: number | null = null;
    let lastError = '';
    const socket = new WebSocket(url, {
      headers: { Authorization: `Bearer ${apiKey}`, 'User-Agent': userAgent },
      // No permessage-deflate: frames are small JSON, and a server that accepts it (Python
      // websockets does by default; the tether hub does not) made zlib a third of the agent's CPU
      // under load, plus a compression context per socket. Bulk data travels over HTTP uploads.
      perMessageDeflate: false,
      maxPayload: SOCKET_MAX_PAYLOAD,
      handshakeTimeout: 15_000,
      ...(agent ? { agent } : {}),
    });
    this.#socket = socket;

    const frameArrived = () => {
      if (this.#up || this.#socket !== socket) return;
      if (this.#frameTimer) clearTimeout(this.#frameTimer);
      this.#frameTimer = null;
      this.#up = true;
      this.#openedAt = Date.now();
      this.#startKeepalive(socket);
      this.#options.events.up();
    };

    socket.on('unexpected-response', (_request, response) => {
      handshakeStatus = response.statusCode ?? 0;
      failure = classifyHandshakeAnswer(handshakeStatus, response.headers);
      response.resume();
      socket.terminate();
    });
    socket.on('error', (error) => {
      lastError = error.message;
      this.#log.debug({ err: error.message }, 'websocket error');
    });
    socket.on('open', () => {
      // Upgraded; frames must now flow both ways. An immediate ping makes the hub answer at once.
      const timeout = this.#options.frameTimeoutMs ?? 3000;
      this.#frameTimer = setTimeout(() => {
        this.#frameTimer = null;
        if (this.#up) return;
        failure = blackHoleFailure(timeout);
        this.#log.warn({ timeout_ms: timeout }, 'websocket opened but no frame came back: terminating');
        socket.terminate();
      }, timeout);
      socket.ping();
    });
    socket.on('pong', () => {
      frameArrived();
      if (this.#pongTimer) clearTimeout(this.#pongTimer);
      this.#pongTimer = null;
    });
    socket.on('message', (data, isBinary) => {
      frameArrived();
      this.#receive(data, isBinary);
    });
    socket.on('close', (code, reasonBuffer) => {
      const wasUp = this.#up;
      this.#up = false;
      if (this.#frameTimer) clearTimeout(this.#frameTimer);
      this.#frameTimer = null;
      this.#stopKeepalive();
      if (this.#socket === socket) this.#socket = null;
      const reason = reasonBuffer.toString();
      if (wasUp) {
        this.#options.events.down({ code, reason });
        if (Date.now() - this.#openedAt >= (this.#options.stableAfterMs ?? 60_000)) this.#backoff.reset();
      } else {
        failure ??= classifyConnectError(lastError || `closed ${code} before any frame`);
        this.#options.events.attemptFailed(handshakeStatus ? `HTTP ${handshakeStatus}` : failure.reason);
      }
      if (this.#stopped) return;
      const verdict = !wasUp && failure ? this.#options.onFailure?.(failure) : undefined;
      if (verdict === 'pause') {
        this.#stopped = true;
        this.#log.info({ failure: failure?.kind, reason: failure?.reason }, 'websocket attempts paused');
        return;
      }
      const decision = handshakeStatus !== null ? decideAfterHandshakeStatus(handshakeStatus) : wasUp ? decideAfterClose(code) : null;
      this.#afterClose(decision, failure?.reason ?? lastError, verdict === 'retry-soon');
    });
  }

  #afterClose(decision: ReconnectDecision | null, lastError: string, soon = false): void {
    if (decision?.kind === 'fatal') {
      this.#stopped = true;
      this.#options.events.fatal(decision.reason);
      return;
    }
    const slowdown = decision?.slowdown ?? 1;
    const delay = soon ? Math.random() * 250 : Math.min(this.#backoff.next() * slowdown, MAX_SLOW_DELAY_MS);
    const reason = decision?.reason ?? `cannot connect: ${lastError || 'unknown error'}`;
    const level = decision?.loud ? 'warn' : 'info';
    this.#log[level]({ retry_in_ms: delay, attempt: this.#backoff.attempt }, `reconnecting: ${reason}`);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#connect();
    }, delay);
  }

  #receive(data: WebSocket.RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (bytes.length > MAX_HUB_FRAME_BYTES) {
      this.#log.warn({ bytes: bytes.length, limit: MAX_HUB_FRAME_BYTES }, 'dropped an oversized frame');
      return;
    }
    if (isBinary) {
      this.#log.warn({ bytes: bytes.length }, 'dropped a binary frame (the protocol uses JSON text frames)');
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(bytes.toString('utf8'));
    } catch {
      this.#log.warn({ bytes: bytes.length }, 'dropped a frame that is not JSON');
      return;
    }
    this.#options.events.message(message);
  }

  /** Ping every 25 s; no pong within 10 s means the peer is gone: terminate and reconnect. */
  #startKeepalive(socket: WebSocket): void {
    const interval = this.#options.pingIntervalMs ?? 25_000;
    const timeout = this.#options.pongTimeoutMs ?? 10_000;
    this.#pingTimer = setInterval(() => {
      if (this.#pongTimer) return;
      this.#pongTimer = setTimeout(() => {
        this.#log.warn({ timeout_ms: timeout }, 'no pong from the hub: terminating the connection');
        socket.terminate();
      }, timeout);
      socket.ping();
    }, interval);
  }

  #stopKeepalive(): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    if (this.#pongTimer) clearTimeout(this.#pongTimer);
    this.#pingTimer = null;
    this.#pongTimer = null;
  }
}
