// One simulated agent speaking the real protocol over WebSocket: register (protocol 1),
// heartbeats at the hub's interval, ping/echo answered with responses, acks taken. Reconnects
// with the real agent's policy: the same Backoff (shared/src/backoff.ts) and close/handshake
// decisions (agent/src/transport/reconnect-policy.ts), reset after 60 s up.
import WebSocket from 'ws';
import { Backoff } from '@tether/shared/backoff.ts';
import { decideAfterClose, decideAfterHandshakeStatus, MAX_SLOW_DELAY_MS } from '../../agent/src/transport/reconnect-policy.ts';
import type { ReconnectDecision } from '../../agent/src/transport/reconnect-policy.ts';

export interface SimulatedAgentOptions {
  wsUrl: string;
  keyId: string;
  key: string;
  agentId: string;
  /** 127.0.0.x: spreads source ports over many loopback addresses. */
  localAddress: string;
  events: SimulatedAgentEvents;
}

export interface SimulatedAgentEvents {
  registered(agent: SimulatedAgent, firstTime: boolean): void;
  down(agent: SimulatedAgent): void;
  answered(agent: SimulatedAgent, command: string): void;
  fatal(agent: SimulatedAgent, reason: string): void;
}

const STABLE_AFTER_MS = 60_000;

export class SimulatedAgent {
  readonly options: SimulatedAgentOptions;
  readonly #backoff = new Backoff({ baseMs: 1000, capMs: 60_000 });
  #socket: WebSocket | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #retry: NodeJS.Timeout | null = null;
  #registeredOnce = false;
  #upSince = 0;
  #stopped = false;
  connects = 0;

  constructor(options: SimulatedAgentOptions) {
    this.options = options;
  }

  start(): void {
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#socket?.terminate();
  }

  #connect(): void {
    const socket = new WebSocket(this.options.wsUrl, {
      headers: { authorization: `Bearer ${this.options.key}` },
      localAddress: this.options.localAddress,
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    });
    this.#socket = socket;
    let handshakeStatus: number | null = null;
    let wasUp = false;
    socket.on('unexpected-response', (_req, res) => {
      handshakeStatus = res.statusCode ?? 0;
      res.resume();
      socket.terminate();
    });
    socket.on('open', () => {
      wasUp = true;
      this.#upSince = Date.now();
      this.connects += 1;
    });
    socket.on('message', (raw) => this.#receive(socket, raw.toString()));
    socket.on('error', () => {}); // the close that follows decides what to do
    socket.on('close', (code) => {
      if (this.#heartbeat) clearInterval(this.#heartbeat);
      this.#heartbeat = null;
      if (wasUp) {
        this.options.events.down(this);
        if (Date.now() - this.#upSince >= STABLE_AFTER_MS) this.#backoff.reset();
      }
      if (this.#stopped) return;
      const decision: ReconnectDecision | null = handshakeStatus !== null ? decideAfterHandshakeStatus(handshakeStatus) : wasUp ? decideAfterClose(code) : null;
      if (decision?.kind === 'fatal') {
        this.#stopped = true;
        this.options.events.fatal(this, decision.reason);
        return;
      }
      const delay = Math.min(this.#backoff.next() * (decision?.slowdown ?? 1), MAX_SLOW_DELAY_MS);
      this.#retry = setTimeout(() => this.#connect(), delay);
    });
  }

  #receive(socket: WebSocket, text: string): void {
    let frame: { type?: string; [field: string]: unknown };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return;
    }
    const send = (message: Record<string, unknown>) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    };
    switch (frame.type) {
      case 'connected': {
        send({
          type: 'register',
          protocol: 1,
          data: {
            agent_id: this.options.agentId,
            hostname: `load-${this.options.agentId}`,
            ip: this.options.localAddress,
            version: '0.1.0',
            os: 'Linux (simulated)',
            capabilities: ['ping', 'echo'],
            is_docker: false,
            is_root: false,
            protocol: 1,
            transports: ['websocket'],
          },
        });
        const interval = Number(frame.heartbeat_interval_s ?? 30) * 1000;
        this.#heartbeat = setInterval(() => send(heartbeat()), interval);
        return;
      }
      case 'registered': {
        send(heartbeat());
        const first = !this.#registeredOnce;
        this.#registeredOnce = true;
        this.options.events.registered(this, first);
        return;
      }
      case 'command': {
        const commandId = String(frame.command_id);
        const command = String(frame.command);
        const timestamp = new Date().toISOString();
        if (command === 'ping') send({ type: 'response', command_id: commandId, success: true, data: { message: 'pong', timestamp }, duration_ms: 0 });
        else if (command === 'echo')
          send({ type: 'response', command_id: commandId, success: true, data: { echo: (frame.data as { message?: unknown } | undefined)?.message, timestamp }, duration_ms: 0 });
        else send({ type: 'response', command_id: commandId, success: false, data: {}, error: `the load tool's agent does not run ${command}`, error_code: 'unknown_command' });
        this.options.events.answered(this, command);
        return;
      }
      default:
        return; // heartbeat_ack, ack, error: nothing to do
    }
  }
}

function heartbeat(): Record<string, unknown> {
  return {
    type: 'heartbeat',
    status: { uptime: 'running', timestamp: new Date().toISOString() },
    system_metrics: {
      cpu_percent: 1,
      cpu_count: 2,
      memory_percent: 10,
      memory_used_gb: 0.5,
      memory_total_gb: 4,
      disk_percent: 20,
      disk_used_gb: 4,
      disk_total_gb: 20,
      net_bytes_sent: 0,
      net_bytes_recv: 0,
      load_1min: 0.1,
    },
  };
}
