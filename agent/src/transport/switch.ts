// Picks the transport (protocol.md section 4, "Switching"): WebSocket first; two structural
// WebSocket failures in a row → probe HTTP and switch if it answers; transient failures keep
// backing off on WebSocket; while on HTTP a jittered WebSocket probe switches back once it works.
// TETHER_FORCE_HTTP pins HTTP. To the session this is one transport whose link goes down and
// comes up again on the other side, so registration and the outbox re-send happen as on any
// reconnect.
import type { Logger } from '@tether/shared/logger.ts';
import type { AgentMessage } from '@tether/shared/protocol/agent-messages.ts';
import type { DownInfo, SendResult, Transport, TransportEvents, TransportName } from './transport.ts';
import { WebSocketTransport } from './websocket.ts';
import type { WsFailure } from './ws-failure.ts';
import type { AckTrust, HttpTransport } from './long-poll.ts'; // loaded lazily: only when HTTP is needed
import { agentHttpBase, agentWebSocketUrl } from './url.ts';

export interface SwitchingTransportOptions {
  serverUrl: string;
  apiKey: string;
  keyInQuery: boolean;
  userAgent: string;
  log: Logger;
  events: TransportEvents;
  forceHttp: boolean;
  /** Structural WebSocket failures may switch to HTTP (transport.http_fallback; micro-hack's MICROHACK_HTTP_FALLBACK). */
  httpFallback: boolean;
  /** While on HTTP, try WebSocket again about this often (±25 % jitter). */
  wsProbeIntervalMs: number;
  frameTimeoutMs?: number;
  longPollWaitS?: number;
  /** Seconds between plain polls of a server without long polls (transport.http_poll_interval_s). */
  plainPollIntervalS?: number;
  /** Judges the hub's acks of HTTP results (the agent's CommandSigning). */
  acks: AckTrust;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Structural WebSocket failures in a row before HTTP is tried. */
const STRUCTURAL_FAILURES_TO_SWITCH = 2;

type Mode = TransportName;

export class SwitchingTransport implements Transport {
  #options: SwitchingTransportOptions;
  #log: Logger;
  #ws: WebSocketTransport;
  #http: HttpTransport | null = null;
  #mode: Mode = 'websocket';
  #stopped = false;
  #structuralInARow = 0;
  #probeTimer: NodeJS.Timeout | null = null;
  #retryWsTimer: NodeJS.Timeout | null = null;

  constructor(options: SwitchingTransportOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'transport-switch' });
    this.#ws = new WebSocketTransport({
      url: agentWebSocketUrl(options.serverUrl, { apiKey: options.apiKey, keyInQuery: options.keyInQuery }),
      apiKey: options.apiKey,
      userAgent: options.userAgent,
      log: options.log,
      events: this.#routed('websocket'),
      pingIntervalMs: options.pingIntervalMs,
      pongTimeoutMs: options.pongTimeoutMs,
      frameTimeoutMs: options.frameTimeoutMs,
      onFailure: (failure) => this.#onWsFailure(failure),
      env: options.env,
    });
  }

  get name(): TransportName {
    return this.#mode;
  }

  get mode(): Mode {
    return this.#mode;
  }

  get announcesConnected(): boolean {
    return this.#mode === 'websocket';
  }

  get isUp(): boolean {
    return this.#mode === 'websocket' ? this.#ws.isUp : (this.#http?.isUp ?? false);
  }

  start(): void {
    this.#stopped = false;
    if (this.#options.forceHttp) {
      this.#log.info('HTTP polling pinned (TETHER_FORCE_HTTP / transport.force_http)');
      void this.#switchToHttp('pinned by configuration');
      return;
    }
    this.#ws.start();
  }

  send(message: AgentMessage): Promise<SendResult> {
    return this.#mode === 'websocket' ? this.#ws.send(message) : this.#http ? this.#http.send(message) : Promise.reject(new Error('not connected'));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#probeTimer) clearTimeout(this.#probeTimer);
    if (this.#retryWsTimer) clearTimeout(this.#retryWsTimer);
    await Promise.all([this.#ws.stop(), this.#http?.stop()]);
  }

  /** Events of one side reach the session only while that side is the active one. */
  #routed(source: Mode): TransportEvents {
    const session = this.#options.events;
    return {
      up: () => {
        if (source === 'websocket' && this.#mode === 'http_polling') this.#switchToWebSocket();
        if (source === 'websocket') this.#structuralInARow = 0;
        if (source === this.#mode) session.up();
      },
      down: (info: DownInfo) => {
        if (source === this.#mode) session.down(info);
      },
      message: (message: unknown) => {
        if (source === this.#mode) session.message(message);
      },
      command: (entry: unknown) => {
        if (source === this.#mode) session.command(entry);
      },
      attemptFailed: (reason: string) => {
        if (source === this.#mode) session.attemptFailed(reason);
      },
      fatal: (reason: string) => session.fatal(reason),
    };
  }

  #onWsFailure(failure: WsFailure): 'retry' | 'retry-soon' | 'pause' {
    if (this.#stopped) return 'pause';
    if (this.#mode === 'http_polling') {
      this.#log.info({ failure: failure.kind, reason: failure.reason }, 'websocket probe failed; staying on HTTP');
      this.#scheduleWsProbe();
      return 'pause';
    }
    if (failure.kind !== 'structural') {
      this.#structuralInARow = 0;
      return 'retry';
    }
    if (!this.#options.httpFallback) {
      this.#log.warn({ reason: failure.reason }, 'structural websocket failure; HTTP fallback is off (transport.http_fallback), staying on websocket');
      return 'retry';
    }
    this.#structuralInARow += 1;
    this.#log.warn({ in_a_row: this.#structuralInARow, reason: failure.reason }, 'structural websocket failure');
    if (this.#structuralInARow < STRUCTURAL_FAILURES_TO_SWITCH) return 'retry-soon';
    void this.#probeHttpThenSwitch(failure.reason);
    return 'pause';
  }

  async #probeHttpThenSwitch(why: string): Promise<void> {
    const http = await this.#httpTransport();
    const reachable = await http.probe();
    if (this.#stopped) return;
    if (reachable) {
      await this.#switchToHttp(why);
      return;
    }
    // HTTP is blocked too: keep trying WebSocket, without a tight loop.
    const delay = 1000 + Math.random() * 4000;
    this.#log.warn({ retry_in_ms: Math.round(delay) }, 'HTTP probe failed as well; staying on websocket');
    this.#retryWsTimer = setTimeout(() => {
      this.#retryWsTimer = null;
      this.#ws.start();
    }, delay);
  }

  async #httpTransport(): Promise<HttpTransport> {
    if (!this.#http) {
      const { HttpTransport } = await import('./long-poll.ts'); // the HTTP code loads only when it is needed
      this.#http ??= new HttpTransport({
        base: agentHttpBase(this.#options.serverUrl),
        apiKey: this.#options.apiKey,
        userAgent: this.#options.userAgent,
        log: this.#options.log,
        events: this.#routed('http_polling'),
        waitS: this.#options.longPollWaitS,
        plainPollIntervalS: this.#options.plainPollIntervalS,
        acks: this.#options.acks,
        env: this.#options.env,
      });
    }
    return this.#http;
  }

  async #switchToHttp(why: string): Promise<void> {
    const http = await this.#httpTransport();
    if (this.#stopped) return;
    this.#mode = 'http_polling';
    this.#structuralInARow = 0;
    this.#log.warn({ to: 'http_polling', reason: why }, 'transport switched');
    http.start();
    if (!this.#options.forceHttp) this.#scheduleWsProbe();
  }

  /** A WebSocket probe got frames flowing: the session moves over to it. */
  #switchToWebSocket(): void {
    if (this.#probeTimer) clearTimeout(this.#probeTimer);
    this.#probeTimer = null;
    const httpWasUp = this.#http?.isUp ?? false;
    this.#mode = 'websocket';
    this.#log.warn({ to: 'websocket' }, 'transport switched');
    if (httpWasUp) this.#options.events.down({ code: 1000, reason: 'switching to websocket' });
    void this.#http?.stop();
  }

  #scheduleWsProbe(): void {
    if (this.#stopped || this.#probeTimer) return;
    const base = this.#options.wsProbeIntervalMs;
    const delay = base * (0.75 + Math.random() * 0.5);
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = null;
      if (this.#stopped || this.#mode !== 'http_polling') return;
      this.#log.debug('probing websocket');
      this.#ws.start();
    }, delay);
  }
}
